// checker.cc -- the health-check runtime: its loop thread, scheduling, and verdict bookkeeping.
#include "dns/health/checker.hh"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <variant>

#include "dns/base/clock.hh"
#include "dns/health/http_probe.hh"
#include "dns/health/tcp_probe.hh"

namespace rrdns::health {

namespace {

std::once_flag g_curlInit;

struct SetTargets {
  std::vector<CheckSpec> targets;
};
struct SetOverride {
  std::string key;
  std::optional<bool> up;
};
struct SetSaved {
  std::map<std::string, SavedHealth> saved;
};
using Command = std::variant<SetTargets, SetOverride, SetSaved>;

int64_t wallClockMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string count(uint32_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string weightText(const std::optional<uint8_t>& w) {
  return w ? std::to_string(*w) : std::string("none");
}

}  // namespace

struct Checker::Impl {
  // One probed target. Lives from setTargets until its timer's close callback; probes in flight
  // refer to it by id, so a result arriving after removal finds nothing and is dropped.
  struct Target {
    Impl* owner;
    uint64_t id;
    std::string key;
    Hysteresis hysteresis;
    bool in_flight = false;
    TargetStatus status;  // written on the loop thread under d_stateMutex
    uv_timer_t timer;
  };

  explicit Impl(Publish publish) : d_publish(std::move(publish)), d_rng(std::random_device{}()) {
    std::call_once(g_curlInit, [] {
      if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        throw std::runtime_error("curl_global_init failed");
      }
    });
    if (int rc = uv_loop_init(&d_loop); rc < 0) {
      throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
    }
    uv_async_init(&d_loop, &d_async, onAsync);
    d_async.data = this;
    d_http = std::make_unique<HttpProber>(&d_loop);
    d_tcp = std::make_unique<TcpProber>(&d_loop);
  }

  ~Impl() { stop(); }

  void start() {
    std::lock_guard lifecycle(d_lifecycleMutex);
    if (d_started || d_stopped) return;
    d_started = true;
    d_thread = std::thread([this] { run(); });
  }

  void stop() {
    std::lock_guard lifecycle(d_lifecycleMutex);
    if (d_stopped) return;
    d_stopped = true;
    {
      std::lock_guard queue(d_queueMutex);
      d_stopRequested = true;
    }
    if (d_started) {
      uv_async_send(&d_async);
      d_thread.join();
    } else {
      teardown();  // never ran: close the handles from here
      uv_run(&d_loop, UV_RUN_DEFAULT);
    }
    if (int rc = uv_loop_close(&d_loop); rc < 0) {
      spdlog::error("health: uv_loop_close: {}", uv_strerror(rc));
    }
  }

  void post(Command command) {
    std::lock_guard queue(d_queueMutex);
    // Checked under the queue lock: once the loop thread has seen the stop request it closes
    // the async handle, so no send may race with that.
    if (d_stopRequested) return;
    d_queue.push_back(std::move(command));
    uv_async_send(&d_async);
  }

  std::vector<TargetStatus> status() const {
    std::lock_guard state(d_stateMutex);
    std::vector<TargetStatus> out;
    out.reserve(d_targets.size());
    for (const Target* t : d_targets) out.push_back(t->status);
    return out;
  }

 private:
  void run() {
    // With CURLOPT_NOSIGNAL curl leaves SIGPIPE alone, and OpenSSL writes with write(2): a
    // replica closing mid-handshake must not kill the process, so this thread blocks it.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    uv_run(&d_loop, UV_RUN_DEFAULT);
  }

  static void onAsync(uv_async_t* async) {
    auto* self = static_cast<Impl*>(async->data);
    std::vector<Command> commands;
    bool stop;
    {
      std::lock_guard queue(self->d_queueMutex);
      commands.swap(self->d_queue);
      stop = self->d_stopRequested;
    }
    if (stop) {
      self->teardown();
      return;
    }
    for (Command& c : commands) {
      if (auto* st = std::get_if<SetTargets>(&c)) {
        self->applyTargets(std::move(st->targets));
      } else if (auto* ss = std::get_if<SetSaved>(&c)) {
        self->d_saved = std::move(ss->saved);
      } else {
        auto& so = std::get<SetOverride>(c);
        self->applyOverride(so.key, so.up);
      }
    }
  }

  void teardown() {
    d_stopping = true;
    d_http->shutdown();
    d_tcp->shutdown();
    {
      std::lock_guard state(d_stateMutex);
      d_targets.clear();
    }
    for (auto& [key, t] : d_byKey) closeTarget(t);
    d_byKey.clear();
    d_byId.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&d_async), nullptr);
    // Nothing else should be open; anything that is would keep uv_run (and the join) waiting.
    uv_walk(
        &d_loop,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) {
            spdlog::warn("health: closing a stray {} handle", uv_handle_type_name(h->type));
            uv_close(h, nullptr);
          }
        },
        nullptr);
  }

  Target* createTarget(const CheckSpec& spec, std::string key) {
    // Saved health serves once, for the target it was saved for: a target dropped and added back
    // later is new to this rrdnsd, which by then knows better than an old file.
    std::optional<SavedHealth> saved;
    if (auto it = d_saved.find(key); it != d_saved.end()) {
      if (savedHealthUsable(spec, it->second, wallClockMs())) saved = it->second;
      d_saved.erase(it);
    }
    const bool unchecked = spec.kind == CheckKind::None;  // never probed: its state is final
    auto* t = new Target{this,
                         d_nextId++,
                         std::move(key),
                         saved ? Hysteresis(saved->up, spec.rise, spec.fall, true)
                               : Hysteresis(spec.startsUp(), spec.rise, spec.fall, unchecked),
                         false,
                         {},
                         {}};
    t->status.spec = spec;
    t->status.up = t->status.checks_up = t->hysteresis.up();
    t->status.seen = t->hysteresis.seen();
    if (saved) {
      t->status.from_saved = true;
      t->status.observed_unix_ms = saved->observed_unix_ms;
      t->status.reported_weight = saved->reported_weight;
    }
    t->status.changed_ms = monotonicMs();  // a new target gets the same slow start as a revived one
    uv_timer_init(&d_loop, &t->timer);
    t->timer.data = t;
    d_byId.emplace(t->id, t);
    return t;
  }

  void closeTarget(Target* t) {
    uv_close(reinterpret_cast<uv_handle_t*>(&t->timer),
             [](uv_handle_t* h) { delete static_cast<Target*>(h->data); });
  }

  void applyTargets(std::vector<CheckSpec> specs) {
    std::unordered_map<std::string, Target*> next;
    std::vector<Target*> order, fresh;
    order.reserve(specs.size());
    {
      std::lock_guard state(d_stateMutex);
      for (CheckSpec& spec : specs) {
        std::string key = spec.key();
        if (auto it = next.find(key); it != next.end()) {
          order.push_back(it->second);
          continue;
        }
        Target* t;
        if (auto old = d_byKey.find(key); old != d_byKey.end()) {
          t = old->second;
          d_byKey.erase(old);
          t->hysteresis.setThresholds(spec.rise, spec.fall);
          t->status.spec = std::move(spec);  // the key is equal, so only timing/thresholds differ
        } else {
          t = createTarget(spec, key);
          fresh.push_back(t);
        }
        next.emplace(std::move(key), t);
        order.push_back(t);
      }
      d_targets = std::move(order);
      ++d_generation;
    }
    for (auto& [key, t] : d_byKey) {
      spdlog::info("health: no longer checking {}", t->status.spec.description());
      d_byId.erase(t->id);
      closeTarget(t);
    }
    d_byKey = std::move(next);
    for (Target* t : fresh) {
      if (t->status.spec.kind != CheckKind::None) {
        uv_timer_start(&t->timer, onTargetTimer, 0, 0);
      }
    }
    publish();
  }

  void applyOverride(const std::string& key, std::optional<bool> up) {
    auto it = d_byKey.find(key);
    if (it == d_byKey.end()) {
      spdlog::warn("health: override for unknown target '{}' ignored", key);
      return;
    }
    Target* t = it->second;
    TargetStatus& s = t->status;
    if (s.override_up == up) return;
    const bool was_up = s.up;
    {
      std::lock_guard state(d_stateMutex);
      s.override_up = up;
      s.up = up.value_or(s.checks_up);
      if (s.up != was_up) s.changed_ms = monotonicMs();
    }
    const std::string what = s.spec.description();
    if (up) {
      spdlog::info("health: {} forced {} by override", what, *up ? "up" : "down");
    } else {
      spdlog::info("health: {} override cleared, checks say {}", what, s.up ? "up" : "down");
    }
    publish();
  }

  static void onTargetTimer(uv_timer_t* timer) {
    auto* t = static_cast<Target*>(timer->data);
    t->owner->tick(t);
  }

  void tick(Target* t) {
    const CheckSpec& spec = t->status.spec;
    uint64_t delay = spec.interval_ms ? spec.interval_ms : 1;
    if (spec.jitter_ms) delay += std::uniform_int_distribution<uint32_t>(0, spec.jitter_ms)(d_rng);
    uv_timer_start(&t->timer, onTargetTimer, delay, 0);
    if (t->in_flight) return;  // slower than its interval: skip this round, never overlap
    t->in_flight = true;
    ProbeDone done = [this, id = t->id](ProbeResult r) { onResult(id, std::move(r)); };
    if (spec.kind == CheckKind::Tcp) {
      d_tcp->probe(spec, std::move(done));
    } else {
      d_http->probe(spec, std::move(done));
    }
  }

  void onResult(uint64_t id, ProbeResult r) {
    if (d_stopping) return;
    auto it = d_byId.find(id);
    if (it == d_byId.end()) return;  // removed while the probe ran
    Target* t = it->second;
    t->in_flight = false;
    TargetStatus& s = t->status;
    const bool was_up = s.up;
    const std::optional<uint8_t> old_weight = s.reported_weight;
    const bool first = !s.seen;
    bool flipped;
    {
      std::lock_guard state(d_stateMutex);
      const uint64_t now = monotonicMs();
      flipped = t->hysteresis.record(r.ok);
      ++s.checks;
      if (!r.ok) ++s.failures;
      s.last_reason = r.reason;
      s.last_latency_us = r.latency_us;
      s.latency.record(r.latency_us);
      s.last_check_ms = now;
      s.observed_unix_ms = wallClockMs();
      s.seen = true;
      // A failed probe says nothing about load (no answer, or an error page): keep the last
      // reported weight until a successful probe replaces it.
      if (r.ok) s.reported_weight = r.reported_weight;
      s.checks_up = t->hysteresis.up();
      s.up = s.override_up.value_or(s.checks_up);
      if (s.up != was_up) s.changed_ms = now;
    }
    const std::string what = s.spec.description();
    if (first && !flipped) {
      spdlog::info("health: {} is {} (first result: {})", what, s.checks_up ? "up" : "down",
                   r.reason);
    }
    if (flipped) {
      // Say so when the verdict changes nothing for answers because an override holds.
      std::string note;
      if (s.override_up && *s.override_up != s.checks_up) {
        note = std::string("; override keeps it ") + (*s.override_up ? "up" : "down");
      }
      // The first result decides at once: say so rather than "1 failure" against fall = 3.
      const std::string run =
          first ? std::string("first result")
                : s.checks_up ? count(t->hysteresis.successes(), "success", "successes")
                              : count(t->hysteresis.failures(), "failure", "failures");
      if (s.checks_up) {
        spdlog::info("health: {} is up ({}, {}){}", what, r.reason, run, note);
      } else {
        spdlog::warn("health: {} is down ({}, {}){}", what, r.reason, run, note);
      }
    }
    if (s.reported_weight != old_weight) {
      spdlog::info("health: {} reports weight {} (was {})", what, weightText(s.reported_weight),
                   weightText(old_weight));
    }
    // A first result publishes even when it confirms `initial`: the snapshot's awaiting_first
    // count is what the start waits on.
    if (first || s.up != was_up || s.reported_weight.value_or(100) != old_weight.value_or(100))
      publish();
  }

  void publish() {
    if (!d_publish) return;
    auto snapshot = std::make_shared<HealthSnapshot>();
    snapshot->targets.reserve(d_targets.size());
    for (const Target* t : d_targets) {
      snapshot->targets.push_back(
          {t->status.up, t->status.reported_weight.value_or(100), t->status.changed_ms});
    }
    for (const auto& [key, t] : d_byKey)  // by key: a target named twice waits once
      if (!t->status.seen) ++snapshot->awaiting_first;
    snapshot->taken_ms = monotonicMs();
    snapshot->generation = d_generation;
    try {
      d_publish(std::move(snapshot));
    } catch (const std::exception& e) {
      spdlog::error("health: publishing a snapshot failed: {}", e.what());
    } catch (...) {
      spdlog::error("health: publishing a snapshot failed");
    }
  }

  Publish d_publish;
  uv_loop_t d_loop;
  uv_async_t d_async;
  std::unique_ptr<HttpProber> d_http;
  std::unique_ptr<TcpProber> d_tcp;
  std::thread d_thread;

  std::mutex d_lifecycleMutex;
  bool d_started = false, d_stopped = false;

  std::mutex d_queueMutex;
  std::vector<Command> d_queue;
  bool d_stopRequested = false;

  // d_targets and every Target::status: written on the loop thread under the lock, read by
  // status() under it; the loop thread reads them without it.
  mutable std::mutex d_stateMutex;
  std::vector<Target*> d_targets;  // index order of the last setTargets; may repeat a target
  uint64_t d_generation = 0;        // setTargets calls applied (HealthSnapshot::generation)

  // Loop thread only.
  std::unordered_map<std::string, Target*> d_byKey;
  std::unordered_map<uint64_t, Target*> d_byId;
  std::map<std::string, SavedHealth> d_saved;  // setSavedHealth's entries not used yet
  uint64_t d_nextId = 1;
  std::mt19937 d_rng;
  bool d_stopping = false;
};

Checker::Checker(Publish publish) : d_impl(std::make_unique<Impl>(std::move(publish))) {}
Checker::~Checker() = default;
void Checker::start() { d_impl->start(); }
void Checker::stop() { d_impl->stop(); }
void Checker::setTargets(std::vector<CheckSpec> targets) {
  d_impl->post(SetTargets{std::move(targets)});
}
void Checker::setSavedHealth(std::map<std::string, SavedHealth> saved) {
  d_impl->post(SetSaved{std::move(saved)});
}
void Checker::setOverride(const std::string& key, std::optional<bool> up) {
  d_impl->post(SetOverride{key, up});
}
std::vector<TargetStatus> Checker::status() const { return d_impl->status(); }

}  // namespace rrdns::health
