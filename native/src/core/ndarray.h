// NDArray = {storage, offset, shape, dtype}: always contiguous (as MXNet), views share storage.
#pragma once
#include <atomic>
#include <memory>

#include "allocator.h"
#include "dtype.h"
#include "error.h"
#include "shape.h"

namespace ndgrad {

namespace autograd {
struct Node;
}

// An error found while computing (asynchronous engine), kept with every array it affects and
// thrown by their reads; `reported` once a read or wait has thrown it.
struct DeferredError {
  explicit DeferredError(Error e) : error(std::move(e)) {}
  Error error;
  std::atomic<bool> reported{false};
};

// Reference-counted block of memory. `version` counts in-place writes, so the tape can tell
// whether a value it saved for backward was changed afterwards. `error` (with `has_error`, read
// without a lock) is the engine's: set when the op that was to write this storage failed.
// An array's memory. Its bytes are reserved (counted, checked against the memory limit) when the array
// is made, on the calling thread, but the block is bound at first use: for an op's output that is
// when the op runs, on the engine thread, so the engine reuses the blocks it just freed (hot in cache)
// however far JavaScript has run ahead (MXNet's delayed allocation).
struct Storage {
  std::atomic<void*> block{nullptr};
  size_t bytes = 0;  // granted by reserve_block
  std::atomic<uint64_t> version{0};
  std::atomic<bool> has_error{false};
  std::shared_ptr<DeferredError> error;  // guarded by the engine's error lock
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    put_block(block.load(std::memory_order_relaxed), bytes);
    unreserve_block(bytes);
  }
  void* data() {
    void* p = block.load(std::memory_order_acquire);
    return p ? p : bind();
  }
  void* bind();  // takes the block (any thread; the first to bind wins)
};

struct NDArray {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::Float32;
  // Autograd entry: the node that produced this array (or its variable node) and which output.
  std::shared_ptr<autograd::Node> node;
  uint32_t out_index = 0;

  bool defined() const { return static_cast<bool>(storage); }
  int64_t size() const { return numel(shape); }
  size_t ndim() const { return shape.size(); }
  size_t nbytes() const { return static_cast<size_t>(size()) * dtype_size(dtype); }
  void* raw() const { return static_cast<char*>(storage->data()) + offset * static_cast<int64_t>(dtype_size(dtype)); }
  template <class T>
  T* data() const { return static_cast<T*>(raw()); }
  uint64_t version() const { return storage->version.load(std::memory_order_relaxed); }
  void bump_version() const { storage->version.fetch_add(1, std::memory_order_relaxed); }
  bool same_storage(const NDArray& o) const { return storage && storage == o.storage; }
  // Same data, shape and dtype; no autograd history.
  NDArray plain() const {
    NDArray r;
    r.storage = storage;
    r.offset = offset;
    r.shape = shape;
    r.dtype = dtype;
    return r;
  }
};

// Uninitialised array of the given shape and dtype.
NDArray empty(const Shape& shape, DType dtype);
NDArray zeros(const Shape& shape, DType dtype);
NDArray full(const Shape& shape, DType dtype, double value);
// A view of `a` with another shape of the same size (shares storage).
NDArray view(const NDArray& a, const Shape& shape, int64_t offset_elems = 0);
// Element-type conversion and copy (contiguous memcpy when the dtypes agree).
void copy_into(const NDArray& src, const NDArray& dst);
// A new array of `shape` and `dtype` from numel(shape) elements of type `src_type` at `src` (a copy;
// converted as astype converts).
NDArray from_data(const void* src, DType src_type, const Shape& shape, DType dtype);
void fill(const NDArray& a, double value);
double read_scalar(const NDArray& a, int64_t i);
void write_scalar(const NDArray& a, int64_t i, double v);

}  // namespace ndgrad
