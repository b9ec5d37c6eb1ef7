// resolver.cc: the c-ares channel behind Resolver: one server, one try per query, a fixed
// timeout; answers parsed with ares_parse_a_reply/ares_parse_aaaa_reply (wire order kept).
// c-ares 1.18 has no API for EDNS options, so queries are built here (ares_create_query, then
// the ECS option appended to its OPT record) and sent with ares_send, which leaves the rcode to
// the callback: statusOf maps it as ares_query would.
#include "tools/verify/resolver.hh"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>

#include <cerrno>
#include <memory>
#include <stdexcept>

namespace {

struct LibraryInit {
  LibraryInit() { ares_library_init(ARES_LIB_INIT_ALL); }
  ~LibraryInit() { ares_library_cleanup(); }
};

std::vector<std::string> parseAddresses(bool aaaa, const unsigned char* abuf, int alen,
                                        int& status) {
  std::vector<std::string> out;
  char text[INET6_ADDRSTRLEN];
  if (aaaa) {
    ares_addr6ttl addrs[64];
    int n = 64;
    status = ares_parse_aaaa_reply(abuf, alen, nullptr, addrs, &n);
    if (status == ARES_SUCCESS)
      for (int i = 0; i < n; ++i)
        if (inet_ntop(AF_INET6, &addrs[i].ip6addr, text, sizeof text)) out.emplace_back(text);
  } else {
    ares_addrttl addrs[64];
    int n = 64;
    status = ares_parse_a_reply(abuf, alen, nullptr, addrs, &n);
    if (status == ARES_SUCCESS)
      for (int i = 0; i < n; ++i)
        if (inet_ntop(AF_INET, &addrs[i].ipaddr, text, sizeof text)) out.emplace_back(text);
  }
  return out;
}

// The status ares_query would report for a response (c-ares' own mapping in ares_query.c).
int statusOf(const unsigned char* abuf, int alen) {
  if (alen < 12) return ARES_EBADRESP;
  const int ancount = abuf[6] << 8 | abuf[7];
  switch (abuf[3] & 0x0f) {
    case 0: return ancount > 0 ? ARES_SUCCESS : ARES_ENODATA;
    case 1: return ARES_EFORMERR;
    case 2: return ARES_ESERVFAIL;
    case 3: return ARES_ENOTFOUND;
    case 4: return ARES_ENOTIMP;
    case 5: return ARES_EREFUSED;
    default: return ARES_SUCCESS;
  }
}

constexpr int kEdnsPayload = 1232;  // as dig and kdig offer (DNS flag day 2020)

// The query as ares_query builds it (RD set, id chosen by ares_send), with EDNS and the ECS
// option when ecsOption is not empty.
std::vector<unsigned char> buildQuery(const std::string& name, bool aaaa,
                                      const std::vector<uint8_t>& ecsOption) {
  unsigned char* buf = nullptr;
  int len = 0;
  const int rc = ares_create_query(name.c_str(), 1 /* C_IN */, aaaa ? 28 : 1, 0, 1, &buf, &len,
                                   ecsOption.empty() ? 0 : kEdnsPayload);
  if (rc != ARES_SUCCESS) throw std::runtime_error("cannot query '" + name + "': " + ares_strerror(rc));
  std::vector<unsigned char> q(buf, buf + len);
  ares_free_string(buf);
  if (ecsOption.empty()) return q;
  // ares_create_query ends the message with an empty OPT record: root name, TYPE 41, CLASS
  // (the payload), TTL 0, RDLENGTH 0. The option becomes its RDATA.
  const size_t n = q.size();
  if (n < 12 + 11 || q[n - 11] != 0 || q[n - 10] != 0 || q[n - 9] != 41 || q[n - 2] != 0 ||
      q[n - 1] != 0)
    throw std::runtime_error("c-ares built a query without the OPT record at its end");
  q[n - 2] = static_cast<unsigned char>(ecsOption.size() >> 8);
  q[n - 1] = static_cast<unsigned char>(ecsOption.size() & 0xff);
  q.insert(q.end(), ecsOption.begin(), ecsOption.end());
  return q;
}

}  // namespace

struct Resolver::Request {
  Resolver* owner;
  bool aaaa;
  std::chrono::steady_clock::time_point sent;
  Callback done;
};

Resolver::Resolver(const std::string& server, bool useTcp, double timeoutSec,
                   std::optional<ClientSubnet> subnet) {
  static LibraryInit init;
  if (subnet) d_ecsOption = encodeClientSubnetOption(*subnet);
  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | (useTcp ? ARES_FLAG_USEVC : 0);
  opts.timeout = static_cast<int>(timeoutSec * 1000);
  opts.tries = 1;
  // Room for a second of answers at 10,000 qps (the kernel caps it at net.core.rmem_max): with
  // the default (208 KiB, about 270 answers) a client descheduled for 30 ms on a busy machine
  // drops answers itself and reports them as lost by the server.
  opts.socket_receive_buffer_size = 4 << 20;
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_RCVBUF;
  if (int rc = ares_init_options(&d_channel, &opts, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("ares_init_options: ") + ares_strerror(rc));
  if (int rc = ares_set_servers_ports_csv(d_channel, server.c_str()); rc != ARES_SUCCESS) {
    ares_destroy(d_channel);
    throw std::runtime_error("bad server '" + server + "': " + ares_strerror(rc));
  }
}

Resolver::~Resolver() { ares_destroy(d_channel); }

void Resolver::send(const std::string& name, bool aaaa, Callback done) {
  const std::vector<unsigned char> query = buildQuery(name, aaaa, d_ecsOption);
  auto* req = new Request{this, aaaa, std::chrono::steady_clock::now(), std::move(done)};
  ++d_pending;
  ares_send(d_channel, query.data(), static_cast<int>(query.size()), &Resolver::onAnswer, req);
}

void Resolver::onAnswer(void* arg, int status, int, unsigned char* abuf, int alen) {
  std::unique_ptr<Request> req(static_cast<Request*>(arg));
  --req->owner->d_pending;
  Answer a;
  a.latencyMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          req->sent).count();
  if (status == ARES_SUCCESS && abuf) {
    status = statusOf(abuf, alen);
    a.ecs = findClientSubnet(abuf, static_cast<size_t>(alen));
  }
  a.status = status;
  // A response of any rcode counts as answered; NODATA/NXDOMAIN/SERVFAIL have no addresses.
  a.answered = status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND ||
               status == ARES_ESERVFAIL || status == ARES_EREFUSED || status == ARES_EFORMERR ||
               status == ARES_ENOTIMP;
  if (status == ARES_SUCCESS && abuf) {
    int parsed = 0;
    a.addresses = parseAddresses(req->aaaa, abuf, alen, parsed);
  }
  if (req->done) req->done(a);
}

void Resolver::poll(double maxWaitSec) {
  fd_set readers, writers;
  FD_ZERO(&readers);
  FD_ZERO(&writers);
  int nfds = ares_fds(d_channel, &readers, &writers);
  if (maxWaitSec < 0) maxWaitSec = 0;
  timeval maxTv{static_cast<time_t>(maxWaitSec),
                static_cast<suseconds_t>((maxWaitSec - static_cast<long>(maxWaitSec)) * 1e6)};
  timeval tv{};
  timeval* wait = ares_timeout(d_channel, &maxTv, &tv);
  int rc = select(nfds, &readers, &writers, nullptr, wait);
  if (rc < 0) {
    if (errno != EINTR) throw std::runtime_error("select failed");
    FD_ZERO(&readers);
    FD_ZERO(&writers);
  }
  ares_process(d_channel, &readers, &writers);
}

Answer Resolver::query(const std::string& name, bool aaaa) {
  Answer result;
  bool finished = false;
  send(name, aaaa, [&](const Answer& a) {
    result = a;
    finished = true;
  });
  while (!finished) poll(0.05);
  return result;
}
