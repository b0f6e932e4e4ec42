#include "server/redis/async_connection.h"

#include <errno.h>
#include <sys/epoll.h>

#include "server/common/strings.h"

namespace reef::redis {

absl::StatusOr<std::unique_ptr<AsyncConnection>> AsyncConnection::Connect(
    const NodeAddress& node, int epoll_fd, uint64_t token) {
  std::unique_ptr<AsyncConnection> connection(new AsyncConnection(node, epoll_fd, token));
  redisAsyncContext* context = redisAsyncConnect(node.host.c_str(), node.port);
  if (context == nullptr) {
    return absl::UnavailableError(StrCat("redis ", node.ToString(), ": out of memory"));
  }
  if (context->err != 0) {
    std::string reason = context->errstr != nullptr ? context->errstr : "connect failed";
    redisAsyncFree(context);
    return absl::UnavailableError(StrCat("redis ", node.ToString(), ": ", reason));
  }
  connection->context_ = context;
  connection->fd_ = context->c.fd;
  epoll_event event{};
  event.events = 0;
  event.data.u64 = token;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, connection->fd_, &event) != 0) {
    const int error = errno;
    redisAsyncFree(context);  // no hooks yet: nothing calls back
    connection->context_ = nullptr;
    return absl::ErrnoToStatus(error, "epoll_ctl(redis connection)");
  }
  context->data = connection.get();
  context->ev.data = connection.get();
  context->ev.addRead = AddRead;
  context->ev.delRead = DelRead;
  context->ev.addWrite = AddWrite;
  context->ev.delWrite = DelWrite;
  context->ev.cleanup = Cleanup;
  // hiredis learns that a non-blocking connect finished from the first write event; it
  // asks for one when the connect callback is set.
  redisAsyncSetConnectCallback(context, OnConnect);
  return connection;
}

AsyncConnection::AsyncConnection(const NodeAddress& node, int epoll_fd, uint64_t token)
    : node_(node), epoll_fd_(epoll_fd), token_(token) {}

AsyncConnection::~AsyncConnection() { Close(); }

bool AsyncConnection::connected() const {
  return context_ != nullptr && (context_->c.flags & REDIS_CONNECTED) != 0;
}

bool AsyncConnection::Send(std::string_view formatted, redisCallbackFn* fn, void* privdata) {
  if (context_ == nullptr) return false;
  return redisAsyncFormattedCommand(context_, fn, privdata, formatted.data(),
                                    formatted.size()) == REDIS_OK;
}

std::string AsyncConnection::error() const {
  if (context_ != nullptr && context_->err != 0 && context_->errstr != nullptr) {
    return context_->errstr;
  }
  return error_;
}

void AsyncConnection::Flush() {
  if (connected() && (interest_ & EPOLLOUT) != 0) redisAsyncHandleWrite(context_);
}

void AsyncConnection::HandleEvents(uint32_t epoll_events) {
  // Errors and hang-ups are found by reading (EOF, or the socket's error while connecting).
  if (context_ != nullptr && (epoll_events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    redisAsyncHandleRead(context_);
  }
  if (context_ != nullptr && (epoll_events & EPOLLOUT) != 0) {
    redisAsyncHandleWrite(context_);
  }
  if (context_ != nullptr) NoteError();
}

void AsyncConnection::Close() {
  if (context_ != nullptr) redisAsyncFree(context_);
}

void AsyncConnection::SetInterest(uint32_t interest) {
  if (interest == interest_ || context_ == nullptr) return;
  epoll_event event{};
  event.events = interest;
  event.data.u64 = token_;
  // The socket was added at Connect; only a closed epoll fd makes this fail, and then
  // the loop is gone anyway.
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event) == 0) interest_ = interest;
}

void AsyncConnection::NoteError() {
  if (context_->err != 0 && context_->errstr != nullptr) error_ = context_->errstr;
}

void AsyncConnection::AddRead(void* self) {
  auto* c = static_cast<AsyncConnection*>(self);
  c->SetInterest(c->interest_ | EPOLLIN);
}

void AsyncConnection::DelRead(void* self) {
  auto* c = static_cast<AsyncConnection*>(self);
  c->SetInterest(c->interest_ & ~uint32_t{EPOLLIN});
}

void AsyncConnection::AddWrite(void* self) {
  auto* c = static_cast<AsyncConnection*>(self);
  c->SetInterest(c->interest_ | EPOLLOUT);
}

void AsyncConnection::DelWrite(void* self) {
  auto* c = static_cast<AsyncConnection*>(self);
  c->SetInterest(c->interest_ & ~uint32_t{EPOLLOUT});
}

void AsyncConnection::Cleanup(void* self) {
  // hiredis is about to close the socket: take it out of the epoll set first, so a reused
  // descriptor number never reports events under this token.
  auto* c = static_cast<AsyncConnection*>(self);
  c->NoteError();
  if (c->error_.empty()) c->error_ = "connection closed";
  epoll_ctl(c->epoll_fd_, EPOLL_CTL_DEL, c->fd_, nullptr);
  c->interest_ = 0;
  c->context_ = nullptr;
  c->fd_ = -1;
}

void AsyncConnection::OnConnect(const redisAsyncContext* context, int status) {
  auto* c = static_cast<AsyncConnection*>(context->data);
  if (status != REDIS_OK && context->errstr != nullptr) c->error_ = context->errstr;
}

}  // namespace reef::redis
