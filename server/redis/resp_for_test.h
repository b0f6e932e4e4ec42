// Test helper: a hiredis reply object from RESP bytes, as hiredis's reader builds it from
// the socket, so parsers of replies are tested on the real structures.
#ifndef REEF_SERVER_REDIS_RESP_FOR_TEST_H_
#define REEF_SERVER_REDIS_RESP_FOR_TEST_H_

#include <hiredis/hiredis.h>

#include <memory>
#include <string_view>

namespace reef::redis::testing {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// The one reply `resp` holds, or nullptr if it is not one whole, valid reply.
inline ReplyPtr ParseResp(std::string_view resp) {
  redisReader* reader = redisReaderCreate();
  void* reply = nullptr;
  if (redisReaderFeed(reader, resp.data(), resp.size()) != REDIS_OK ||
      redisReaderGetReply(reader, &reply) != REDIS_OK) {
    reply = nullptr;
  }
  redisReaderFree(reader);
  return ReplyPtr(static_cast<redisReply*>(reply));
}

}  // namespace reef::redis::testing

#endif  // REEF_SERVER_REDIS_RESP_FOR_TEST_H_
