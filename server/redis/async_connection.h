// AsyncConnection: one non-blocking hiredis connection (redisAsyncContext) driven by an
// epoll loop that the caller owns: hiredis's async API with an adapter, like the libev or
// ae adapters it ships, for reef's loops.
//
//   int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
//   auto conn = AsyncConnection::Connect(node, epoll_fd, /*token=*/42);
//   conn->Send(formatted_command, callback, privdata);   // queued, not written yet
//   conn->Flush();                   // everything queued goes out in one write(2)
//   ... epoll_wait(epoll_fd, ...): for an event whose data.u64 == 42:
//   conn->HandleEvents(event.events);    // reads replies, runs callbacks in order
//
// The adapter registers the socket with `epoll_fd` once (data.u64 = token) and changes
// its interest (EPOLLIN, EPOLLOUT) as hiredis asks: read interest while connected,
// write interest only while output is waiting (so a level-triggered loop never spins on
// a writable socket). When hiredis frees the context (an error, EOF, Close()) the socket
// is removed from the epoll set before it is closed, and alive() turns false.
//
// Pipelining: every Send appends to hiredis's output buffer; nothing is written until
// Flush() or the next EPOLLOUT, so the commands of one batch leave in one write. Replies
// come back in order and hiredis calls each command's callback with its reply (nullptr
// when the connection is lost or closed first: every queued callback is called exactly
// once).
//
// Threads: one thread (the loop's) uses a connection. Callbacks run inside HandleEvents,
// Flush or Close. Never destroy a connection from inside one of its callbacks: call
// Close() there (hiredis defers the free until the callback returns), and destroy the
// object later, from the loop.
#ifndef REEF_SERVER_REDIS_ASYNC_CONNECTION_H_
#define REEF_SERVER_REDIS_ASYNC_CONNECTION_H_

#include <hiredis/async.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/redis/cluster_slots.h"

namespace reef::redis {

class AsyncConnection {
 public:
  // Starts a non-blocking connect to `node` and registers the socket with `epoll_fd`
  // under `token`. Connecting finishes in HandleEvents (connected() turns true). Fails
  // (Unavailable, with hiredis's reason) only when the socket cannot even be set up.
  static absl::StatusOr<std::unique_ptr<AsyncConnection>> Connect(const NodeAddress& node,
                                                                 int epoll_fd,
                                                                 uint64_t token);
  // Frees the context if it is still alive: every pending callback gets nullptr.
  ~AsyncConnection();
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  // Queues a command already in RESP form (redisFormatCommandArgv's output); `fn` gets
  // the reply. False, and `fn` is not called, if the connection is closed or closing.
  bool Send(std::string_view formatted, redisCallbackFn* fn, void* privdata);
  // Writes what is queued now, if connected, instead of waiting for EPOLLOUT.
  void Flush();
  // For the loop: the epoll events reported for this connection's token.
  void HandleEvents(uint32_t epoll_events);
  // Frees the context (deferred by hiredis when called from one of its callbacks).
  void Close();

  bool alive() const { return context_ != nullptr; }
  bool connected() const;
  const NodeAddress& node() const { return node_; }
  uint64_t token() const { return token_; }
  // The epoll events the socket is registered for now (EPOLLIN, EPOLLOUT), for tests.
  uint32_t interest() const { return interest_; }
  // Why the connection was lost, if hiredis said ("Connection refused", "Server closed
  // the connection", ...); empty otherwise.
  std::string error() const;

 private:
  AsyncConnection(const NodeAddress& node, int epoll_fd, uint64_t token);

  // hiredis's event hooks; privdata is the AsyncConnection.
  static void AddRead(void* self);
  static void DelRead(void* self);
  static void AddWrite(void* self);
  static void DelWrite(void* self);
  static void Cleanup(void* self);
  static void OnConnect(const redisAsyncContext* context, int status);
  void SetInterest(uint32_t interest);
  void NoteError();

  NodeAddress node_;
  int epoll_fd_;
  uint64_t token_;
  redisAsyncContext* context_ = nullptr;
  int fd_ = -1;
  uint32_t interest_ = 0;
  std::string error_;
};

}  // namespace reef::redis

#endif  // REEF_SERVER_REDIS_ASYNC_CONNECTION_H_
