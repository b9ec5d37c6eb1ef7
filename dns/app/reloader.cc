// reloader.cc -- loading on the thread pool, publishing on the loop.
#include "dns/app/reloader.hh"

#include <spdlog/spdlog.h>

#include "dns/answer/answer.hh"
#include "dns/app/report.hh"
#include "dns/base/background.hh"

namespace rrdns::app {

Reloader::Reloader(uv_loop_t* loop, const CommandLine& command_line, Config running,
                   ServedZones& publisher)
    : d_loop(loop),
      d_command_line(command_line),
      d_running(std::move(running)),
      d_publisher(publisher) {}

void Reloader::request(Done done) {
  if (d_shut_down) return;
  if (d_job) {
    spdlog::info("reload already running: will reload again when it ends");
    d_again = true;
    if (done) d_next_waiters.push_back(std::move(done));
    return;
  }
  if (done) d_next_waiters.push_back(std::move(done));
  begin();
}

void Reloader::check(Done done) {
  if (d_shut_down) return;
  auto job = std::make_unique<Job>();
  job->apply = false;
  job->waiters.push_back(std::move(done));
  job->self = this;
  job->work.data = job.get();
  if (uv_queue_work(d_loop, &job->work, load, checked) != 0) {
    job->waiters.front()({rrdns::error("cannot start loading"), {}});
    return;
  }
  job.release();  // owned by the work request until checked()
}

void Reloader::checked(uv_work_t* work, int) {
  std::unique_ptr<Job> job(static_cast<Job*>(work->data));
  if (job->self->d_shut_down) return;
  zone::ZoneSetLoad outcome = outcomeOf(*job);
  if (outcome.zones.ok())
    if (Result<void> keys =
            DnssecZones::checkKeyDirectory(**outcome.zones, job->config->key_directory);
        !keys.ok())
      outcome.zones = keys.errors();
  // What serving these zones would warn of: records changed under an unchanged serial.
  if (outcome.zones.ok())
    for (Error& stale : job->self->d_publisher.serialWarnings(**outcome.zones))
      outcome.warnings.push_back(std::move(stale));
  for (auto& waiter : job->waiters) waiter(outcome);
}

// The zones are only loaded with a good config.
zone::ZoneSetLoad Reloader::outcomeOf(const Job& job) {
  if (!job.config.ok()) return {job.config.errors(), {}};
  return job.zones;
}

void Reloader::shutdown() {
  d_shut_down = true;
  d_again = false;
}

void Reloader::begin() {
  spdlog::info("reloading {}", d_command_line.config.empty() ? "zones" : d_command_line.config);
  d_job = std::make_unique<Job>();
  d_job->self = this;
  d_job->waiters = std::move(d_next_waiters);
  d_next_waiters.clear();
  d_job->work.data = d_job.get();
  int rc = uv_queue_work(d_loop, &d_job->work, load, loaded);
  if (rc != 0) {
    spdlog::error("reload failed, still serving the previous zones: {}", uv_strerror(rc));
    const zone::ZoneSetLoad failed{
        rrdns::error(std::string("cannot start loading: ") + uv_strerror(rc)), {}};
    for (auto& waiter : d_job->waiters) waiter(failed);
    ++d_failed;
    d_job.reset();
  }
}

// Thread pool: only reads files and builds new objects; touches nothing the loop uses.
// d_command_line is never modified after startup.
void Reloader::load(uv_work_t* work) {
  auto* job = static_cast<Job*>(work->data);
  // The pool's threads do nothing else in rrdnsd: staying below the query threads is for good.
  runBelowQueryThreads();
  try {
    job->config = resolveConfig(job->self->d_command_line);
    if (job->config.ok())
      job->zones = zone::loadZoneSet(job->config->zones, job->config->zone_settings);
  } catch (const std::exception& e) {
    job->config = rrdns::error(std::string("reload: ") + e.what());
  }
}

void Reloader::loaded(uv_work_t* work, int) {
  auto* job = static_cast<Job*>(work->data);
  Reloader* self = job->self;
  std::unique_ptr<Job> done = std::move(self->d_job);
  if (self->d_shut_down) return;
  zone::ZoneSetLoad outcome = outcomeOf(*done);
  try {
    self->apply(*done, outcome);
  } catch (const std::exception& e) {
    spdlog::error("reload failed, still serving the previous zones: {}", e.what());
    outcome = {rrdns::error(std::string("reload: ") + e.what()), {}};
  }
  ++(outcome.zones.ok() ? self->d_succeeded : self->d_failed);
  // Waiters hear only now, after the new zones were handed to the workers: a reply of "ok"
  // means the new data serves.
  for (auto& waiter : done->waiters) waiter(outcome);
  if (self->d_again) {
    self->d_again = false;
    self->begin();
  }
}

// `outcome` is outcomeOf(job).
void Reloader::apply(const Job& job, zone::ZoneSetLoad& outcome) {
  for (const Error& warning : outcome.warnings) spdlog::warn("{}", warning.text());
  if (!outcome.zones.ok()) {
    for (const Error& error : outcome.zones.errors()) spdlog::error("{}", error.text());
    spdlog::error("reload failed, still serving the previous zones");
    return;
  }

  const Config& fresh = *job.config;
  // Before anything of this load applies: with keys that cannot be read, the old zones serve on.
  if (Result<void> keys = d_publisher.prepareKeys(**outcome.zones, fresh.key_directory);
      !keys.ok()) {
    for (const Error& error : keys.errors()) spdlog::error("{}", error.text());
    spdlog::error("reload failed, still serving the previous zones");
    outcome.zones = keys.errors();
    return;
  }
  warnAboutRestartOnlyChanges(fresh);
  if (fresh.log_level != d_running.log_level) {
    spdlog::set_level(fresh.log_level);
    d_running.log_level = fresh.log_level;
  }
  d_running.zones = fresh.zones;
  if (fresh.notify != d_running.notify) {
    d_publisher.setDefaultNotify(fresh.notify);
    d_running.notify = fresh.notify;
  }

  const auto zones = *outcome.zones;
  // A resolver that cannot start is logged there, once; the pools keep their configured members.
  // The serial policy's warnings (logged there) go to the waiters too.
  (void)d_publisher.publish(zones, &outcome.warnings);
  for (const auto& zone : zones->zones()) spdlog::info("zone {}", describeZone(*zone));
  spdlog::info("reload done: serving {}", quantity(zones->zones().size(), "zone"));
}

void Reloader::warnAboutRestartOnlyChanges(const Config& fresh) const {
  auto warn = [&](const char* key) {
    spdlog::warn("{}: {} changed; the new value needs a restart", fresh.source, key);
  };
  if (fresh.listen != d_running.listen) warn("listen");
  if (fresh.threads != d_running.threads) warn("threads");
  if (fresh.udp_max_payload != d_running.udp_max_payload) warn("udp-max-payload");
  if (fresh.tcp_idle_timeout != d_running.tcp_idle_timeout) warn("tcp-idle-timeout");
  if (fresh.tcp_max_connections != d_running.tcp_max_connections) warn("tcp-max-connections");
  if (fresh.tcp_max_connections_per_client != d_running.tcp_max_connections_per_client)
    warn("tcp-max-connections-per-client");
  if (fresh.rate_limit != d_running.rate_limit) warn("rate-limit");
  if (fresh.rate_limit_slip != d_running.rate_limit_slip) warn("rate-limit-slip");
  if (fresh.rate_limit_table_size != d_running.rate_limit_table_size)
    warn("rate-limit-table-size");
  if (fresh.user != d_running.user) warn("user");
  if (fresh.allow_transfer != d_running.allow_transfer) warn("allow-transfer");
  if (fresh.resolver != d_running.resolver) warn("resolver");
  if (fresh.identity != d_running.identity) warn("identity");
  if (fresh.version != d_running.version) warn("version");
  if (fresh.nsid != d_running.nsid || fresh.nsid_text != d_running.nsid_text) warn("nsid");
  if (fresh.edns_client_subnet != d_running.edns_client_subnet) warn("edns-client-subnet");
}

}  // namespace rrdns::app
