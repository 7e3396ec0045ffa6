// Graph export for getSymbol: the recorded history reachable from an array as JSON (nodes with op,
// attributes, inputs and shape) or as Graphviz dot.
#include <algorithm>
#include <sstream>
#include <unordered_map>

#include "tape.h"

namespace ndgrad {
namespace autograd {

namespace {

std::string json_escape(const std::string& s) {
  std::string r;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') r += '\\';
    r += ch;
  }
  return r;
}

struct GraphNode {
  std::string op;
  std::string attrs;
  std::vector<int> inputs;
  Shape shape;
};

std::vector<GraphNode> build_graph(const NDArray& a) {
  if (!in_graph(a))
    fail(code::NOT_RECORDED, "getSymbol: the array of shape ", shape_str(a.shape),
         " is not part of a computation graph. Did you forget to turn on recording (autograd.record())?");
  std::vector<NodePtr> order = reachable_nodes({a});
  std::reverse(order.begin(), order.end());  // oldest first, so inputs get ids first
  std::vector<GraphNode> out;
  std::unordered_map<Node*, int> first_id;
  for (auto& np : order) {
    Node& n = *np;
    if (n.is_variable()) {
      first_id[&n] = static_cast<int>(out.size());
      out.push_back(GraphNode{"variable", "{}", {}, n.out_shapes[0]});
      continue;
    }
    GraphNode g;
    g.op = n.op ? n.op->name : "?";
    g.attrs = n.options.type() ? n.options.type()->json(n.options.data()) : "{}";
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const Edge& e = n.inputs[k];
      if (e.node) {
        // Multi-output nodes: outputs k>0 share the node; we reference the node's first id.
        g.inputs.push_back(first_id[e.node.get()]);
      } else {
        g.inputs.push_back(static_cast<int>(out.size()));
        out.push_back(GraphNode{"constant", "{}", {}, n.in_shapes[k]});
      }
    }
    g.shape = n.out_shapes.empty() ? Shape() : n.out_shapes[0];
    first_id[&n] = static_cast<int>(out.size());
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

std::string symbol_json(const NDArray& a) {
  std::vector<GraphNode> g = build_graph(a);
  std::ostringstream os;
  os << "{\"nodes\":[";
  for (size_t i = 0; i < g.size(); ++i) {
    os << (i ? "," : "") << "{\"id\":" << i << ",\"op\":\"" << json_escape(g[i].op) << "\",\"attrs\":" << g[i].attrs
       << ",\"inputs\":[";
    for (size_t k = 0; k < g[i].inputs.size(); ++k) os << (k ? "," : "") << g[i].inputs[k];
    os << "],\"shape\":[";
    for (size_t k = 0; k < g[i].shape.size(); ++k) os << (k ? "," : "") << g[i].shape[k];
    os << "]}";
  }
  os << "]}";
  return os.str();
}

std::string symbol_dot(const NDArray& a) {
  std::vector<GraphNode> g = build_graph(a);
  std::ostringstream os;
  os << "digraph ndgrad {\n  rankdir=BT;\n";
  for (size_t i = 0; i < g.size(); ++i) {
    const char* shape = g[i].op == "variable" ? "ellipse" : g[i].op == "constant" ? "plaintext" : "box";
    os << "  n" << i << " [label=\"" << json_escape(g[i].op) << "\\n" << shape_str(g[i].shape) << "\", shape=" << shape
       << "];\n";
  }
  for (size_t i = 0; i < g.size(); ++i)
    for (int in : g[i].inputs) os << "  n" << in << " -> n" << i << ";\n";
  os << "}\n";
  return os.str();
}

}  // namespace autograd
}  // namespace ndgrad
