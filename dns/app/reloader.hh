// reloader.hh -- SIGHUP: reload the zones off the main loop, then publish them or keep the old.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/app/config.hh"
#include "dns/app/served_zones.hh"
#include "dns/app/options.hh"
#include "dns/server/server.hh"
#include "dns/zone/loader.hh"

namespace rrdns::app {

// Lives on the main loop. The files are read on libuv's thread pool (uv_queue_work) so signals
// keep being handled during a long load; the result is judged and published back on the loop.
class Reloader {
 public:
  // `running` is the configuration the server was started with; reloads compare against it.
  Reloader(uv_loop_t* loop, const CommandLine& command_line, Config running,
           ServedZones& publisher);
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Hears what a load gave: the zones and their warnings, or the errors of the config or of the
  // zone files.
  using Done = std::function<void(const zone::ZoneSetLoad&)>;

  // Starts a reload, or, while one is running, makes it run once more when that one ends (so the
  // files are re-read after the latest request, however many came in the meantime). `done`, if
  // given, hears the outcome of the reload that reads the files after this request.
  void request(Done done = {});

  // Loads config and zones like a reload, on the thread pool, but applies nothing: `done` hears
  // what would be served.
  void check(Done done);

  uint64_t succeeded() const { return d_succeeded; }
  uint64_t failed() const { return d_failed; }

  // No more reloads. A load already running is left to finish and its result dropped.
  void shutdown();

 private:
  struct Job {
    uv_work_t work;
    Reloader* self;
    bool apply = true;
    std::vector<Done> waiters;
    ConfigLoad config = rrdns::error("not loaded yet");  // load() sets it
    zone::ZoneSetLoad zones{rrdns::error("not loaded yet"), {}};  // load() sets it
  };

  static void load(uv_work_t* work);
  static void loaded(uv_work_t* work, int status);
  void begin();
  bool queue(std::unique_ptr<Job> job);
  static void checked(uv_work_t* work, int status);
  static zone::ZoneSetLoad outcomeOf(const Job& job);
  void apply(const Job& job, zone::ZoneSetLoad& outcome);
  void warnAboutRestartOnlyChanges(const Config& fresh) const;

  uv_loop_t* d_loop;
  const CommandLine& d_command_line;
  Config d_running;
  ServedZones& d_publisher;
  std::unique_ptr<Job> d_job;  // the load in progress
  bool d_again = false;
  std::vector<Done> d_next_waiters;  // for the reload after the one in progress
  uint64_t d_succeeded = 0, d_failed = 0;
  bool d_shut_down = false;
};

}  // namespace rrdns::app
