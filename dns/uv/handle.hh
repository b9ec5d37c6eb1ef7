// handle.hh -- the ownership rule for every libuv handle in the daemon (workers, main loop).
//
// handle->data always points at the HandleOwner that embeds the handle. close() is idempotent;
// it starts uv_close on the owner's handles, and an owner that lives on the heap frees itself in
// its last close callback, never earlier (libuv: memory may only be released in close_cb). This
// is what lets closeAllHandles() shut a loop down with one uv_walk.
#pragma once

#include <uv.h>

namespace rrdns::uv {

class HandleOwner {
 public:
  virtual void close() = 0;

 protected:
  ~HandleOwner() = default;
};

// Closes every handle on `loop` through its owner. The loop then runs dry and uv_run returns.
inline void closeAllHandles(uv_loop_t* loop) {
  uv_walk(
      loop,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle) && handle->data != nullptr)
          static_cast<HandleOwner*>(handle->data)->close();
      },
      nullptr);
}

}  // namespace rrdns::uv
