// fd.hh -- one owned file descriptor, closed unless handed over with release().
#pragma once

namespace rrdns::uv {

// Owns one file descriptor until release(). Closes it otherwise. Used for sockets made by hand
// until libuv takes them over (uv_udp_open, uv_tcp_open, uv_pipe_open).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : d_fd(fd) {}
  Fd(Fd&& other) noexcept : d_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return d_fd; }
  bool valid() const { return d_fd >= 0; }
  int release() {
    int fd = d_fd;
    d_fd = -1;
    return fd;
  }

 private:
  int d_fd = -1;
};

}  // namespace rrdns::uv
