// fd_passing_test.cc -- lines with descriptors: how they are cut up, and that a ControlClient
// gets every descriptor, in order, on a real Unix socket.
#include "dns/control/fd_passing.hh"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dns/control/client.hh"
#include "dns/uv/fd.hh"

namespace rrdns::control {
namespace {

TEST_CASE("planFdMessage: one piece up to the limit, then as few as the limit allows") {
  auto one = planFdMessage(100, 10);
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].offset == 0);
  CHECK((*one)[0].size == 100);
  CHECK((*one)[0].fd_count == 10);

  auto none = planFdMessage(5, 0);
  REQUIRE(none.ok());
  REQUIRE(none->size() == 1);
  CHECK((*none)[0].fd_count == 0);

  // 64 threads x 2 addresses x UDP+TCP + the control socket: more than SCM_MAX_FD (253).
  auto many = planFdMessage(9000, 257);
  REQUIRE(many.ok());
  REQUIRE(many->size() == 5);
  size_t bytes = 0, fds = 0;
  for (const FdMessagePiece& piece : *many) {
    CHECK(piece.offset == bytes);
    CHECK(piece.size > 0);
    CHECK(piece.first_fd == fds);
    CHECK(piece.fd_count <= kMaxFdsPerMessage);
    bytes += piece.size;
    fds += piece.fd_count;
  }
  CHECK(bytes == 9000);
  CHECK(fds == 257);
}

TEST_CASE("planFdMessage: a line too short to carry its pieces is refused") {
  CHECK_FALSE(planFdMessage(2, 3 * kMaxFdsPerMessage).ok());
}

// Pipes whose read ends are sent; each write end holds one distinct byte, so the receiver can
// tell which descriptor is which.
struct Pipes {
  std::vector<uv::Fd> read_ends;
  explicit Pipes(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      int p[2];
      REQUIRE(::pipe(p) == 0);
      const char mark = static_cast<char>(i % 251);
      REQUIRE(::write(p[1], &mark, 1) == 1);
      ::close(p[1]);
      read_ends.emplace_back(p[0]);
    }
  }
  std::vector<int> raw() const {
    std::vector<int> fds;
    for (const auto& fd : read_ends) fds.push_back(fd.get());
    return fds;
  }
};

void sendAndReceive(size_t count) {
  char dir_template[] = "/tmp/rrdns-fdpass-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/s";
  uv::Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size());
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener.get(), 1) == 0);

  ControlClient client;
  client.setDeadline(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  REQUIRE(client.connect(path).ok());
  uv::Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(server.valid());

  Pipes pipes(count);
  // A line that names each descriptor, as the takeover reply does.
  std::string line = "{\"ok\":true,\"sockets\":[";
  for (size_t i = 0; i < count; ++i) line += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  line += "]}\n";
  REQUIRE(sendLineWithFds(server.get(), line, pipes.raw(),
                          std::chrono::steady_clock::now() + std::chrono::seconds(5))
              .ok());
  // A plain line after it: no descriptors, and the first line's are not mixed into it.
  const std::string next = "{\"ok\":true}\n";
  REQUIRE(::write(server.get(), next.data(), next.size()) == static_cast<ssize_t>(next.size()));

  std::string received, why;
  REQUIRE(client.readLine(received, why) == ControlClient::ReadStatus::Line);
  CHECK(received + "\n" == line);
  std::vector<uv::Fd> fds = client.takeFds();
  REQUIRE(fds.size() == count);
  for (size_t i = 0; i < count; ++i) {
    char mark = 0;
    REQUIRE(::read(fds[i].get(), &mark, 1) == 1);
    CHECK(mark == static_cast<char>(i % 251));  // the order sent
  }
  REQUIRE(client.readLine(received, why) == ControlClient::ReadStatus::Line);
  CHECK(received == "{\"ok\":true}");
  CHECK(client.takeFds().empty());
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

TEST_CASE("sendLineWithFds: a few descriptors arrive with the line, in order") {
  sendAndReceive(5);
}

TEST_CASE("sendLineWithFds: more than one message's worth arrive whole and in order") {
  sendAndReceive(3 * kMaxFdsPerMessage + 7);
}

}  // namespace
}  // namespace rrdns::control
