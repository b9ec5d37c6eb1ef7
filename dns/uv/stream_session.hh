// stream_session.hh -- one accepted stream connection and its idle timer: the libuv plumbing
// DNS-over-TCP connections (server::TcpConnection) and control connections share.
//
// What it does for `Derived`: initialises the stream and the timer and accepts into them, closes
// both once (close() is idempotent), deletes the object in the close callback of the last one
// (never earlier: libuv may only release handle memory in close_cb), starts and stops reading,
// tells data from a half-close from a read error, restarts the idle timer and submits writes.
// What to read, when, and what to write stay with `Derived`, which embeds the handles itself (a
// uv_tcp_t or uv_pipe_t, and a uv_timer_t) and provides these, found by name (befriend the
// session if they are private):
//   static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
//   static void onWritten(uv_write_t* request, int status);
//   static void onIdle(uv_timer_t* timer);
//   void received(std::string_view data);  // bytes read into the buffer onAlloc gave
//   void peerDone();                       // the client half-closed; d_peer_done is set
//   void readFailed(int error);            // to log it; the session closes right after
//   void restartIdleTimer();               // called on every read with data
// handle->data is the Derived object on both handles, as HandleOwner requires. Derived's
// destructor runs in the last close callback, so whatever must happen once the handles are gone
// (releasing a per-client slot, leaving a listener's set) belongs there.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string_view>

#include "dns/uv/handle.hh"

namespace rrdns::uv {

inline int initStream(uv_loop_t* loop, uv_tcp_t* tcp) { return uv_tcp_init(loop, tcp); }
inline int initStream(uv_loop_t* loop, uv_pipe_t* pipe) { return uv_pipe_init(loop, pipe, 0); }

template <class Derived>
class StreamSession : public HandleOwner {
 public:
  // Closes the stream (a write in flight is cancelled: onWritten with UV_ECANCELED before the
  // close callbacks) and the timer. Idempotent.
  void close() override {
    if (d_closing) return;
    d_closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(d_session_stream), onClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(d_session_timer), onClosed);
  }

 protected:
  StreamSession() = default;
  virtual ~StreamSession() = default;  // runs Derived's destructor from onClosed
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  // Initialises `stream` and `timer` on `loop` (neither init fails on Unix: an AF_UNSPEC handle
  // has no socket yet) and accepts the pending connection of `server` into `stream`. Returns
  // uv_accept's result; on an error the caller closes the session.
  template <class Stream>
  int acceptInto(uv_loop_t* loop, uv_stream_t* server, Stream* stream, uv_timer_t* timer) {
    initStream(loop, stream);
    stream->data = static_cast<Derived*>(this);
    uv_timer_init(loop, timer);
    timer->data = static_cast<Derived*>(this);
    d_session_stream = reinterpret_cast<uv_stream_t*>(stream);
    d_session_timer = timer;
    d_open_handles = 2;
    return uv_accept(server, d_session_stream);
  }

  // Starts or stops reading. A failed uv_read_start closes the session.
  void setReading(bool want) {
    if (d_closing || want == d_reading) return;
    if (want) {
      if (uv_read_start(d_session_stream, Derived::onAlloc, onRead) != 0) {
        close();
        return;
      }
    } else {
      uv_read_stop(d_session_stream);
    }
    d_reading = want;
  }

  void restartTimer(uint64_t ms) {
    if (!d_closing) uv_timer_start(d_session_timer, Derived::onIdle, ms, 0);
  }

  // uv_write of one buffer; `request` (and the memory `buf` points at) must live until
  // Derived::onWritten. Returns uv_write's result; on an error the caller closes the session.
  int write(uv_write_t* request, uv_buf_t buf) {
    return uv_write(request, d_session_stream, &buf, 1, Derived::onWritten);
  }

  // Set by the session; Derived reads them.
  bool d_reading = false;
  bool d_closing = false;
  bool d_peer_done = false;  // EOF: the client half-closed; answer what is left, then close

 private:
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Derived*>(stream->data);
    if (nread == 0) return;  // EAGAIN
    if (nread > 0) {
      self->restartIdleTimer();
      self->received({buf->base, static_cast<size_t>(nread)});
      return;
    }
    if (nread == UV_EOF) {
      // A client may half-close after its last request and still wait for the answers (RFC 7766
      // 6.2.4 for DNS; socat does it on the control socket). libuv has already stopped reading.
      self->d_reading = false;
      self->d_peer_done = true;
      self->peerDone();
      return;
    }
    self->readFailed(static_cast<int>(nread));
    self->close();
  }

  static void onClosed(uv_handle_t* handle) {
    StreamSession* self = static_cast<Derived*>(handle->data);
    if (--self->d_open_handles == 0) delete self;
  }

  uv_stream_t* d_session_stream = nullptr;
  uv_timer_t* d_session_timer = nullptr;
  int d_open_handles = 0;
};

}  // namespace rrdns::uv
