#include "server/common/fatal.h"

#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "server/common/supervisor.h"

namespace reef {
namespace {

// Writes two digits, or `width` digits, of `value` at `out`.
void PutDigits(char* out, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned shifted_month = (5 * day_of_year + 2) / 153;
  *day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  *month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  *year = static_cast<int64_t>(year_of_era) + era * 400 + (*month <= 2 ? 1 : 0);
}

void OnOutOfMemory() {
  WriteFatalLine({"out of memory: an allocation failed; exiting with status 1"});
  _exit(kExitFailure);
}

}  // namespace

DecimalText::DecimalText(uint64_t value) : start_(sizeof(digits_)) {
  do {
    digits_[--start_] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
}

std::string_view FormatUtcNow(char (&out)[kUtcTimestampBytes]) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const int64_t seconds = now.tv_sec;
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  if (year < 0 || year > 9999) year = 0;
  // YYYY-MM-DDTHH:MM:SS.uuuuuuZ
  PutDigits(out, static_cast<uint64_t>(year), 4);
  out[4] = '-';
  PutDigits(out + 5, month, 2);
  out[7] = '-';
  PutDigits(out + 8, day, 2);
  out[10] = 'T';
  PutDigits(out + 11, static_cast<uint64_t>(second_of_day / 3600), 2);
  out[13] = ':';
  PutDigits(out + 14, static_cast<uint64_t>(second_of_day / 60 % 60), 2);
  out[16] = ':';
  PutDigits(out + 17, static_cast<uint64_t>(second_of_day % 60), 2);
  out[19] = '.';
  PutDigits(out + 20, static_cast<uint64_t>(now.tv_nsec / 1000), 6);
  out[26] = 'Z';
  return {out, kUtcTimestampBytes};
}

void WriteFatalLine(std::initializer_list<std::string_view> pieces) {
  char line[kMaxFatalLineBytes];
  size_t used = 0;
  auto append = [&](std::string_view text) {
    // Keep one byte for the final newline.
    const size_t room = sizeof(line) - 1 - used;
    const size_t n = text.size() < room ? text.size() : room;
    std::memcpy(line + used, text.data(), n);
    used += n;
  };
  char stamp[kUtcTimestampBytes];
  append(FormatUtcNow(stamp));
  append(" FATAL [");
  char thread[17] = {};
  if (prctl(PR_GET_NAME, thread, 0, 0, 0) != 0) thread[0] = '\0';
  append(thread[0] != '\0' ? std::string_view(thread) : std::string_view("?"));
  append("] ");
  for (std::string_view piece : pieces) append(piece);
  line[used++] = '\n';
  const char* next = line;
  size_t left = used;
  while (left > 0) {
    const ssize_t n = write(STDERR_FILENO, next, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone: nowhere left to say it
    }
    next += n;
    left -= static_cast<size_t>(n);
  }
}

void InstallOutOfMemoryHandler() { std::set_new_handler(&OnOutOfMemory); }

}  // namespace reef
