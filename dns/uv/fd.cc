// fd.cc -- Fd's closing members.
#include "dns/uv/fd.hh"

#include <unistd.h>

namespace rrdns::uv {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (d_fd >= 0) ::close(d_fd);
    d_fd = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (d_fd >= 0) ::close(d_fd);
}

}  // namespace rrdns::uv
