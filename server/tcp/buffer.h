// Bounded byte buffers that cost nothing while empty.
//
// An idle keep-alive connection must stay small (the goal is under 4 KiB, kernel socket
// aside), so a connection owns no buffer storage unless bytes are actually waiting: a
// partial request head, a response the client has not read yet, ciphertext held back. A
// ByteBuffer takes a block from its worker's BufferPool when the first byte arrives and
// gives it back when the last one leaves. Each pool hands out blocks of one size (the
// limit of the buffers that use it), so a buffer can never grow past its limit, and keeps
// a bounded number of free blocks for reuse so that a busy worker does not call malloc per
// request.
#ifndef REEF_SERVER_TCP_BUFFER_H_
#define REEF_SERVER_TCP_BUFFER_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace reef::tcp {

class BufferPool {
 public:
  // Blocks of `block_size` bytes; at most `max_free` unused blocks are kept.
  BufferPool(size_t block_size, size_t max_free) : block_size_(block_size), max_free_(max_free) {}
  ~BufferPool() {
    for (uint8_t* block : free_) delete[] block;
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  size_t block_size() const { return block_size_; }

  uint8_t* Acquire() {
    ++in_use_;
    if (!free_.empty()) {
      uint8_t* block = free_.back();
      free_.pop_back();
      return block;
    }
    return new uint8_t[block_size_];
  }
  void Release(uint8_t* block) {
    assert(in_use_ > 0);
    --in_use_;
    if (free_.size() < max_free_) {
      free_.push_back(block);
    } else {
      delete[] block;
    }
  }

  // Blocks handed out and not given back (held by buffers).
  size_t in_use() const { return in_use_; }
  size_t free_blocks() const { return free_.size(); }

 private:
  const size_t block_size_;
  const size_t max_free_;
  size_t in_use_ = 0;
  std::vector<uint8_t*> free_;
};

// A FIFO of bytes in at most one pool block. The pool is passed to every call that may
// take or give back the block, so a buffer is two pointers' worth of state; the owner
// must always pass the same pool and call Release() before the buffer goes away.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer() { assert(block_ == nullptr); }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  bool empty() const { return begin_ == end_; }
  size_t size() const { return end_ - begin_; }
  bool has_block() const { return block_ != nullptr; }

  std::span<const uint8_t> data() const {
    return block_ == nullptr ? std::span<const uint8_t>() : std::span(block_ + begin_, size());
  }

  // How many more bytes fit.
  size_t room(const BufferPool& pool) const { return pool.block_size() - size(); }

  // The free space after the data, taking a block if there is none and moving the data to
  // the front of the block first. Write into it, then Commit() what was written.
  std::span<uint8_t> Writable(BufferPool& pool) {
    if (block_ == nullptr) {
      block_ = pool.Acquire();
      begin_ = end_ = 0;
    } else if (begin_ > 0) {
      std::memmove(block_, block_ + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    return std::span(block_ + end_, pool.block_size() - end_);
  }
  void Commit(size_t n, BufferPool& pool) {
    assert(block_ != nullptr && end_ + n <= pool.block_size());
    end_ += static_cast<uint32_t>(n);
    if (empty()) Release(pool);
  }

  // Appends all of `bytes`, or nothing and false if they do not fit.
  bool Append(std::span<const uint8_t> bytes, BufferPool& pool) {
    if (bytes.empty()) return true;
    if (bytes.size() > room(pool)) return false;
    std::span<uint8_t> to = Writable(pool);
    std::memcpy(to.data(), bytes.data(), bytes.size());
    Commit(bytes.size(), pool);
    return true;
  }

  // Drops `n` bytes from the front; gives the block back when that empties the buffer.
  void Consume(size_t n, BufferPool& pool) {
    assert(n <= size());
    begin_ += static_cast<uint32_t>(n);
    if (empty()) Release(pool);
  }

  void Release(BufferPool& pool) {
    if (block_ != nullptr) pool.Release(block_);
    block_ = nullptr;
    begin_ = end_ = 0;
  }

 private:
  uint8_t* block_ = nullptr;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_BUFFER_H_
