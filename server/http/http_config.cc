#include "server/http/http_config.h"

#include <sched.h>

#include "server/common/privileges.h"
#include "server/common/strings.h"
#include "server/http/response_size.h"
#include "server/swarm/swarm_config.h"
#include "server/tcp/connection.h"
#include "server/tcp/tls.h"

namespace reef {

std::vector<SocketAddress> HttpConfig::DefaultListen() {
  // Both literals parse; the test "the defaults are the documented ones" guards that.
  return {*SocketAddress::Parse("0.0.0.0:6969"), *SocketAddress::Parse("[::]:6969")};
}

http_server::ProxyPolicy HttpConfig::Proxy() const {
  http_server::ProxyPolicy policy;
  policy.header = client_ip_header;
  policy.trusted = trusted_proxies;
  return policy;
}

tcp::ConnectionLimits HttpConnectionLimits(const HttpConfig& http, const HttpTlsConfig& tls) {
  tcp::ConnectionLimits limits;
  limits.max_head_bytes = static_cast<size_t>(http.max_request_head_size);
  limits.max_headers = static_cast<size_t>(http.max_headers);
  limits.head_timeout_ms = absl::ToInt64Milliseconds(http.request_head_timeout);
  limits.keep_alive_timeout_ms = absl::ToInt64Milliseconds(http.keep_alive_timeout);
  limits.tls_handshake_timeout_ms = absl::ToInt64Milliseconds(tls.handshake_timeout);
  limits.write_timeout_ms = absl::ToInt64Milliseconds(http.write_timeout);
  limits.linger_timeout_ms = absl::ToInt64Milliseconds(http.linger_timeout);
  limits.max_output_bytes = static_cast<size_t>(http.max_output_size);
  limits.max_connections = static_cast<size_t>(http.max_connections);
  return limits;
}

namespace {

// trusted_proxies: an array of "ADDRESS" or "ADDRESS/BITS" strings.
class AddressPrefixList {
 public:
  using Type = std::vector<http_server::AddressPrefix>;
  std::optional<std::string> Read(const config::Value& value, Type& out) const {
    if (value.type != config::ValueType::kArray) {
      return config::Expected("an array of \"ADDRESS\" or \"ADDRESS/BITS\" strings", value);
    }
    if (value.children.size() > kMaxTrustedProxies) {
      return StrCat("must list at most ", kMaxTrustedProxies, " prefixes, got ",
                    value.children.size());
    }
    Type prefixes;
    for (const config::Value& element : value.children) {
      if (element.type != config::ValueType::kString) {
        return config::Expected("\"ADDRESS\" or \"ADDRESS/BITS\" strings", element);
      }
      if (config::NoControl(element.string).has_value()) {
        return StrCat(config::TomlString(element.string), " is not an address");
      }
      absl::StatusOr<http_server::AddressPrefix> prefix =
          http_server::AddressPrefix::Parse(element.string);
      if (!prefix.ok()) return std::string(prefix.status().message());
      prefixes.push_back(*prefix);
    }
    out = std::move(prefixes);
    return std::nullopt;
  }
  std::string Render(const Type& value) const {
    std::string out = "[";
    for (size_t i = 0; i < value.size(); ++i) {
      StrAppend(&out, i == 0 ? "" : ", ", config::TomlString(value[i].ToString()));
    }
    return out + "]";
  }
};

// A header name is an HTTP token (RFC 9110 5.6.2), short.
std::optional<std::string> CheckHeaderName(const std::string& name) {
  if (name.size() > kMaxClientIpHeaderLength) {
    return StrCat("must be at most ", kMaxClientIpHeaderLength, " characters, got ", name.size());
  }
  for (char c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return StrCat(config::TomlString(name), " is not a header name");
  }
  return std::nullopt;
}

void CheckHttp(const HttpConfig& http, config::Problems& problems) {
  if (!http.cpu_pinning.empty() &&
      http.cpu_pinning.size() != static_cast<size_t>(http.socket_workers)) {
    problems.Add("cpu_pinning", StrCat("must be empty or list one CPU per socket worker (",
                                       http.socket_workers, "), got ", http.cpu_pinning.size()));
  }
  if (!http.client_ip_header.empty() && http.trusted_proxies.empty()) {
    problems.Add("trusted_proxies",
                 "is empty while client_ip_header is set: list the proxies whose header "
                 "reef may believe");
  }
}

void CheckHttpWithTls(const HttpConfig& http, const HttpTlsConfig& tls,
                      config::Problems& problems) {
  if (!http.enabled) return;
  if (http.listen.empty() && tls.listen.empty()) {
    problems.Add("listen",
                 "is empty, and so is http.tls.listen, while http.enabled is true (set enabled = "
                 "false instead)");
  }
  for (const SocketAddress& address : tls.listen) {
    if (address.port() == 0) continue;  // the kernel picks a port for each: no clash
    for (const SocketAddress& plain : http.listen) {
      if (plain == address) {
        problems.AddFor("http.tls", "listen",
                        StrCat("\"", address.ToString(), "\" is also in http.listen: one port "
                                                         "serves either HTTP or HTTPS"));
      }
    }
  }
}

// The output buffer must hold the largest answer, sealed, with room for TLS messages.
void CheckOutputFits(const HttpConfig& http, const SwarmConfig& swarm, config::Problems& problems) {
  if (!http.enabled) return;
  const size_t largest = http_server::MaxHttpResponseBytes(
      static_cast<size_t>(swarm.max_response_peers), static_cast<size_t>(swarm.max_scrape_hashes));
  const size_t needed = tcp::TlsSealedSize(std::max(largest, tcp::kMaxErrorResponseBytes)) +
                        tcp::kTlsOutputSlack;
  if (static_cast<size_t>(http.max_output_size) < needed) {
    problems.Add("max_output_size",
                 StrCat("must be at least ", needed, " bytes, to hold the largest answer "
                        "swarm.max_response_peers (", swarm.max_response_peers,
                        ") and swarm.max_scrape_hashes (", swarm.max_scrape_hashes,
                        ") allow, encrypted; got ", http.max_output_size));
  }
}

void CheckCpusUsable(const HttpConfig& http, config::Problems& problems) {
  if (!http.enabled) return;
  for (int cpu : http.cpu_pinning) {
    absl::Status usable = CheckCpuUsable(cpu);
    if (!usable.ok()) problems.Add("cpu_pinning", ToStd(usable.message()));
  }
}

void CheckTls(const HttpTlsConfig& tls, config::Problems& problems) {
  if (tls.listen.empty()) return;
  if (tls.certificate_chain.empty()) {
    problems.Add("certificate_chain", "is required when listen is not empty");
  }
  if (tls.private_key.empty()) problems.Add("private_key", "is required when listen is not empty");
}

// The certificate and key load and match (a bad one at start is exit 2, like any bad
// configuration).
void CheckTlsFiles(const HttpConfig& http, const HttpTlsConfig& tls, config::Problems& problems) {
  if (!http.enabled || tls.listen.empty() || tls.certificate_chain.empty() ||
      tls.private_key.empty()) {
    return;
  }
  absl::StatusOr<tcp::SslContext> loaded =
      tcp::LoadServerContext({tls.certificate_chain, tls.private_key});
  if (!loaded.ok()) {
    problems.AddFor("http.tls", "certificate_chain", ToStd(loaded.status().message()));
  }
}

}  // namespace

const config::Section<HttpConfig>& HttpSection() {
  static const auto* section = [] {
    auto* s = new config::Section<HttpConfig>(
        "http",
        "The HTTP tracker protocol (BEP 3, 7, 23, 48): GET /announce and /scrape over TCP,\n"
        "keep-alive and pipelining, each limit below per connection. HTTPS is [http.tls].");
    s->Key("enabled", &HttpConfig::enabled, config::Bool(),
           "Serve HTTP (and, with [http.tls], HTTPS) announces and scrapes. Many clients and\n"
           "every private tracker use HTTP(S); UDP and HTTP peers share one swarm per torrent.");
    s->Key("listen", &HttpConfig::listen, config::SocketAddressList(kMaxHttpListenAddresses),
           "Plain HTTP addresses, \"IPV4:PORT\" or \"[IPV6]:PORT\", at most 64. The default takes\n"
           "both families on TCP 6969, the customary tracker port, beside UDP's 6969 (TCP and\n"
           "UDP ports do not clash). Port 0 lets the kernel pick one.");
    s->Key("socket_workers", &HttpConfig::socket_workers,
           config::Int(1, kMaxHttpSocketWorkers),
           "Threads that accept and serve connections, 1 to 256, each with its own\n"
           "SO_REUSEPORT listening socket per address (the kernel spreads new connections\n"
           "over them) and an epoll loop. One is plenty for most trackers, as for UDP.");
    s->Key("cpu_pinning", &HttpConfig::cpu_pinning,
           config::IntList(0, CPU_SETSIZE - 1, static_cast<size_t>(kMaxHttpSocketWorkers)),
           "CPUs the socket workers run on: empty for none, or one CPU per worker.");
    s->Key("max_connections", &HttpConfig::max_connections,
           config::Int(1, kMaxHttpConnectionsPerWorker),
           "Connections one worker serves at once, 1 to 1000000. One past it is closed at once\n"
           "and counted; the open ones keep being served. An idle kept-alive connection costs\n"
           "reef about 200 bytes (TLS: about 14 KiB) besides the kernel's socket, so 10000 is\n"
           "cheap; reef raises RLIMIT_NOFILE at start to what this needs, or says why not.");
    s->Key("max_request_head_size", &HttpConfig::max_request_head_size,
           config::Int(kMinRequestHeadSize, kMaxRequestHeadSize),
           "Largest request head in bytes (request line, headers, blank line), 256 to 1 MiB;\n"
           "a longer one is answered 431 (414 for the request line) and the connection closed.\n"
           "Real clients' announces are 300-600 bytes and a scrape of 74 hashes about 4.5 KiB,\n"
           "so 8192 leaves room without letting a client park more.");
    s->Key("max_headers", &HttpConfig::max_headers, config::Int(1, kMaxHttpHeaders),
           "Most headers in one request, 1 to 1024; one more is 431. Clients send 4 to 6.");
    s->Key("request_head_timeout_seconds", &HttpConfig::request_head_timeout,
           config::Seconds(1, kMaxHttpTimeoutSeconds),
           "From a connection's start (or its TLS handshake's end, or the first byte after a\n"
           "response) to the end of the request head; more is a close. Clients send a request\n"
           "at once: 10 s covers a slow link and stops a client that sends its head a byte at\n"
           "a time (slowloris) or nothing at all.");
    s->Key("keep_alive_timeout_seconds", &HttpConfig::keep_alive_timeout,
           config::Seconds(1, kMaxHttpTimeoutSeconds),
           "How long a kept-alive connection may wait for its next request. 60 s serves a\n"
           "client's scrape after its announce, and proxies, on one connection.");
    s->Key("write_timeout_seconds", &HttpConfig::write_timeout,
           config::Seconds(1, kMaxHttpTimeoutSeconds),
           "How long reef waits for a client to read any of an answer; a client that stops\n"
           "reading is closed then. 10 s.");
    s->Key("linger_timeout_seconds", &HttpConfig::linger_timeout,
           config::Seconds(1, kMaxLingerTimeoutSeconds),
           "After an error answer, reef closes its side and reads (and drops) what the client\n"
           "still sends for at most this long, so the client reads the answer rather than a\n"
           "reset. 2 s, 1 to 60.");
    s->Key("max_output_size", &HttpConfig::max_output_size,
           config::Int(static_cast<int>(tcp::kMaxErrorResponseBytes), kMaxOutputSize),
           "Bytes (ciphertext under TLS) queued on one connection for a client that has not\n"
           "read them, up to 64 MiB. Pipelined requests are answered only while a whole answer\n"
           "still fits; the rest wait, and reef stops reading the connection. It must hold the\n"
           "largest answer swarm.max_response_peers and swarm.max_scrape_hashes allow\n"
           "(10672 bytes by default); 64 KiB bounds a connection's memory and lets a few\n"
           "answers queue.");
    s->Key("client_ip_header", &HttpConfig::client_ip_header, config::String(&CheckHeaderName),
           "Behind a reverse proxy: the header naming the client's address (\"X-Forwarded-For\",\n"
           "\"X-Real-IP\"), read only on connections from trusted_proxies. Empty (the default):\n"
           "off, and every such header is ignored, so no client can claim another address.\n"
           "X-Forwarded-For is read right to left past the trusted proxies; a trusted proxy\n"
           "that sends no valid header gets a failure reason.");
    s->Key("trusted_proxies", &HttpConfig::trusted_proxies, AddressPrefixList(),
           "Addresses or prefixes (\"127.0.0.1\", \"10.0.0.0/8\", \"::1\") whose connections may set\n"
           "client_ip_header, at most 256. Required when client_ip_header is set.");
    s->Check(&CheckHttp);
    s->CheckWith(HttpTlsSection(), &CheckHttpWithTls);
    s->CheckWith(SwarmSection(), &CheckOutputFits);
    s->CheckSystem(&CheckCpusUsable);
    s->CheckSystemWith(HttpTlsSection(), &CheckTlsFiles);
    return s;
  }();
  return *section;
}

const config::Section<HttpTlsConfig>& HttpTlsSection() {
  static const auto* section = [] {
    auto* s = new config::Section<HttpTlsConfig>(
        "http.tls",
        "HTTPS: the same tracker over TLS 1.2 and 1.3 (OpenSSL), on addresses of its own.\n"
        "SIGUSR1 or SIGHUP loads the certificate and key again for new handshakes (open\n"
        "connections keep theirs); files that do not load keep the old ones, and the log\n"
        "says why. The files must stay readable by [privileges] user for reloads.");
    s->Key("listen", &HttpTlsConfig::listen, config::SocketAddressList(kMaxHttpListenAddresses),
           "HTTPS addresses, \"IPV4:PORT\" or \"[IPV6]:PORT\", at most 64; none in http.listen.\n"
           "Empty (the default): no HTTPS.");
    s->Key("certificate_chain", &HttpTlsConfig::certificate_chain, config::String(&config::NoNul),
           "PEM file: the server's certificate, then its intermediates. Required with listen.");
    s->Key("private_key", &HttpTlsConfig::private_key, config::String(&config::NoNul),
           "PEM file: the certificate's private key, unencrypted. Required with listen.");
    s->Key("handshake_timeout_seconds", &HttpTlsConfig::handshake_timeout,
           config::Seconds(1, kMaxHttpTimeoutSeconds),
           "From accept to the end of the TLS handshake; more is a close. 10 s.");
    s->Check(&CheckTls);
    return s;
  }();
  return *section;
}

}  // namespace reef
