// bfloat16 arrays in ops (bf16.cc): the rule "arithmetic in float32, results rounded once".
#pragma once
#include "op.h"

namespace ndgrad {
namespace ops {

bool has_bf16(InputList inputs);
bool all_bf16(InputList inputs);
// Runs `op` (not kBF16Storage) on float32 copies of its bfloat16 inputs and rounds its float32
// results to bfloat16; a bfloat16 input the op updates in place gets the new values back.
ArrayList invoke_in_float32(const OpDef& op, InputList inputs, const Options& options, const NDArray* out);
// After infer: refuses bfloat16 results of an op that does not handle bfloat16 storage (random
// numbers, one_hot, ... with dtype 'bfloat16'), before anything is allocated.
void check_bf16_results(const OpCall& c);

}  // namespace ops
}  // namespace ndgrad
