// reclaimer.cc -- the reclaimer thread: a lock-free list in, destructors run here.
#include "dns/answer/reclaimer.hh"

#include <pthread.h>

#include <atomic>
#include <thread>

#include "dns/base/background.hh"

namespace rrdns::answer {

// Started by the first Reclaimer::own() (so constructed before, and destroyed after, any static
// that owns what it made); its destructor, at exit, destroys what is left and joins the thread.
class ReclaimerThread {
 public:
  using Retired = Reclaimer::Retired;

  ReclaimerThread() : d_thread([this] { run(); }) {}
  ~ReclaimerThread() {
    d_stop.store(true, std::memory_order_release);
    d_pushed.fetch_add(1, std::memory_order_release);
    d_pushed.notify_one();
    d_thread.join();
    s_gone.store(true, std::memory_order_release);
    // Whatever a thread still running at exit pushed after run() returned.
    for (Retired* node = d_head.exchange(nullptr); node != nullptr;) {
      Retired* next = node->next;
      node->destroy(node->object);
      delete node;
      node = next;
    }
  }

  static ReclaimerThread& instance() {
    static ReclaimerThread thread;
    return thread;
  }
  // Set once the thread is gone (static destruction at exit): from then on a drop frees inline.
  static inline std::atomic<bool> s_gone{false};

  void push(Retired* node) {
    node->next = d_head.load(std::memory_order_relaxed);
    while (!d_head.compare_exchange_weak(node->next, node, std::memory_order_release,
                                         std::memory_order_relaxed)) {
    }
    d_retired.fetch_add(1, std::memory_order_relaxed);
    // After the push: run() reads d_pushed before it takes the list, so it cannot sleep past it.
    d_pushed.fetch_add(1, std::memory_order_release);
    d_pushed.notify_one();
  }

  // Until nothing retired is left, including what destroying the rest retired (a catalog's pool
  // states).
  void drain() {
    for (;;) {
      const uint64_t target = d_retired.load(std::memory_order_acquire);
      for (uint64_t done = d_destroyed.load(std::memory_order_acquire); done < target;
           done = d_destroyed.load(std::memory_order_acquire))
        d_destroyed.wait(done, std::memory_order_acquire);
      if (d_retired.load(std::memory_order_acquire) == target) return;
    }
  }

  uint64_t destroyed() const { return d_destroyed.load(std::memory_order_acquire); }

 private:
  void run() {
    pthread_setname_np(pthread_self(), "rrdns-reclaim");
    runBelowQueryThreads();
    for (;;) {
      const uint64_t seen = d_pushed.load(std::memory_order_acquire);
      Retired* list = d_head.exchange(nullptr, std::memory_order_acquire);
      if (list == nullptr) {
        if (d_stop.load(std::memory_order_acquire)) return;
        d_pushed.wait(seen, std::memory_order_acquire);
        continue;
      }
      // The list is newest first; destroy in the order of retirement.
      Retired* oldest_first = nullptr;
      while (list != nullptr) {
        Retired* next = list->next;
        list->next = oldest_first;
        oldest_first = list;
        list = next;
      }
      while (oldest_first != nullptr) {
        Retired* next = oldest_first->next;
        // May retire more (a catalog owns its initial pool states): they join the list.
        oldest_first->destroy(oldest_first->object);
        delete oldest_first;
        oldest_first = next;
        d_destroyed.fetch_add(1, std::memory_order_release);
        d_destroyed.notify_all();
      }
    }
  }

  std::atomic<Retired*> d_head{nullptr};
  std::atomic<uint64_t> d_pushed{0};     // pushes and the stop request: what run() waits on
  std::atomic<uint64_t> d_retired{0};    // nodes pushed
  std::atomic<uint64_t> d_destroyed{0};  // nodes destroyed
  std::atomic<bool> d_stop{false};
  std::thread d_thread;  // last: started once the members above exist
};

void Reclaimer::retire(Retired* node) {
  if (ReclaimerThread::s_gone.load(std::memory_order_acquire)) {
    node->destroy(node->object);
    delete node;
    return;
  }
  ReclaimerThread::instance().push(node);
}

void Reclaimer::start() {
  if (!ReclaimerThread::s_gone.load(std::memory_order_acquire)) ReclaimerThread::instance();
}

void Reclaimer::drain() {
  if (!ReclaimerThread::s_gone.load(std::memory_order_acquire)) ReclaimerThread::instance().drain();
}

uint64_t Reclaimer::destroyed() { return ReclaimerThread::instance().destroyed(); }

}  // namespace rrdns::answer
