// reloader.hh -- SIGHUP: reload the zones off the main loop, then publish them or keep the old.
#pragma once

#include <uv.h>

#include <memory>

#include "dns/app/config.hh"
#include "dns/app/health_monitor.hh"
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
           HealthMonitor& publisher);
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Starts a reload, or, while one is running, makes it run once more when that one ends (so the
  // files are re-read after the latest signal, however many signals came in the meantime).
  void request();

  // No more reloads. A load already running is left to finish and its result dropped.
  void shutdown();

 private:
  struct Job {
    uv_work_t work;
    Reloader* self;
    ConfigLoad config;
    zone::ZoneSetLoad zones;
  };

  static void load(uv_work_t* work);
  static void loaded(uv_work_t* work, int status);
  void begin();
  void apply(Job& job);
  void warnAboutRestartOnlyChanges(const Config& fresh) const;

  uv_loop_t* d_loop;
  const CommandLine& d_command_line;
  Config d_running;
  HealthMonitor& d_publisher;
  std::unique_ptr<Job> d_job;  // the load in progress
  bool d_again = false;
  bool d_shut_down = false;
};

}  // namespace rrdns::app
