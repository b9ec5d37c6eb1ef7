// main.cc -- rrdnsd: parse the command line, load, bind, serve until a signal says stop.
//
// Reading order: options.hh (command line), config.hh (server TOML), then run() below, then
// reloader.hh; the query path itself is in dns/server.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "dns/answer/answer.hh"
#include "dns/app/config.hh"
#include "dns/app/options.hh"
#include "dns/app/privileges.hh"
#include "dns/app/reloader.hh"
#include "dns/app/report.hh"
#include "dns/app/control_handler.hh"
#include "dns/app/catalog_publisher.hh"
#include "dns/app/served_zones.hh"
#include "dns/app/metrics_feed.hh"
#include "dns/app/notifier.hh"
#include "dns/metrics/exporter.hh"
#include "dns/server/server.hh"
#include "dns/zone/loader.hh"
#include "dns/uv/handle.hh"

namespace rrdns::app {
namespace {

enum ExitStatus { kOk = 0, kFailure = 1, kUsage = 2 };

void setUpLogging(spdlog::level::level_enum level) {
  // Colours only when stderr is a terminal; logs to a file or journald stay plain text.
  auto logger = spdlog::stderr_color_mt("rrdnsd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(level);
}

// The main loop's handles: the three signals. SIGHUP reloads; SIGTERM/SIGINT stop.
class SignalHandlers final : public uv::HandleOwner {
 public:
  SignalHandlers(uv_loop_t* loop, server::Server& server, Reloader& reloader)
      : d_server(server), d_reloader(reloader) {
    for (uv_signal_t* handle : {&d_hup, &d_term, &d_int}) {
      uv_signal_init(loop, handle);
      handle->data = this;
    }
    uv_signal_start(&d_hup, onSignal, SIGHUP);
    uv_signal_start(&d_term, onSignal, SIGTERM);
    uv_signal_start(&d_int, onSignal, SIGINT);
  }

  void close() override {
    if (d_closed) return;
    d_closed = true;
    for (uv_signal_t* handle : {&d_hup, &d_term, &d_int})
      uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
  }

 private:
  static void onSignal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<SignalHandlers*>(handle->data);
    if (signum == SIGHUP) {
      spdlog::info("SIGHUP: reload requested");
      self->d_reloader.request();
      return;
    }
    spdlog::info("{}: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    self->d_reloader.shutdown();
    self->d_server.stop();
    // Everything left on the main loop; a reload still loading keeps the loop alive until it
    // ends, and is then dropped.
    uv::closeAllHandles(handle->loop);
  }

  server::Server& d_server;
  Reloader& d_reloader;
  uv_signal_t d_hup;
  uv_signal_t d_term;
  uv_signal_t d_int;
  bool d_closed = false;
};

int serve(const CommandLine& command_line, const Config& config,
          std::shared_ptr<const zone::ZoneSet> zones) {
  server::ServerSettings settings = serverSettings(config);
  std::string error;
  auto catalog =
      answer::Catalog::make(std::move(zones), answer::Precompile::Background, logTableReady);
  auto server = server::Server::create(settings, catalog, error);
  if (!server) {
    spdlog::error("{}", error);
    spdlog::error("cannot start");
    return kFailure;
  }

  uv_loop_t loop;
  if (int rc = uv_loop_init(&loop); rc != 0) {
    spdlog::error("cannot start: uv_loop_init: {}", uv_strerror(rc));
    return kFailure;
  }
  // Health checks start with the catalog, so a cold start soon stops handing out dead members.
  CatalogPublisher publisher(&loop, *server);
  publisher.loadAdminState(config.state_file);
  // The main loop's handles (health checks, a control socket) must close before the loop does.
  auto failStartup = [&loop](const std::string& why) {
    spdlog::error("cannot start: {}", why);
    uv::closeAllHandles(&loop);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return kFailure;
  };
  Notifier notifier(&loop);
  ServedZones served(&loop, publisher, config.resolver, notifier, config.notify);
  if (Result<void> published = served.publish(catalog); !published.ok())
    return failStartup(published.error().text());
  Reloader reloader(&loop, command_line, config, served);
  ControlHandler control_handler(publisher, reloader, *server, settings);
  MetricsFeed metrics_feed(*server, publisher, reloader, notifier);
  std::unique_ptr<metrics::MetricsExporter> exporter;
  if (!config.metrics.empty()) {
    metrics_feed.update();
    publisher.onPublished([&metrics_feed] { metrics_feed.update(); });
    exporter = metrics::MetricsExporter::create(
        config.metrics, [&metrics_feed] { return metrics_feed.collect(); }, error);
    if (!exporter) return failStartup(error);
    spdlog::info("metrics on http://{}/metrics", config.metrics);
  }
  std::unique_ptr<control::ControlServer> control;
  std::vector<std::string> owned;  // handed to `user` before the switch
  if (!config.control.empty()) {
    // The socket's directory goes to `user` too (/run/rrdns when rrdnsd runs without systemd's
    // RuntimeDirectory=), so that rrdnsd, no longer root, can still remove its socket at stop.
    if (std::string dir = makeParentDirectory(config.control); !dir.empty()) {
      spdlog::info("control: created {}", dir);
      owned.push_back(dir);
    }
    auto created = control::ControlServer::create(
        &loop, config.control,
        [&control_handler](const control::Json& request, const control::Peer& peer,
                           control::Reply reply) {
          control_handler.handle(request, peer, std::move(reply));
        });
    if (!created.ok()) return failStartup(created.error().text());
    control = std::move(created).value();
    owned.push_back(config.control);
    spdlog::info("control socket {} (rrdnsctl --socket {})", config.control, config.control);
  }
  // Every socket is bound (ports below 1024 and the control socket's directory may need root):
  // from here on nothing does, so give it up before the first query is read.
  if (!config.user.empty()) {
    if (std::string why = dropPrivileges(config.user, owned); !why.empty()) return failStartup(why);
    spdlog::info("running as user {} (uid {}, gid {})", config.user, ::getuid(), ::getgid());
  } else if (::geteuid() == 0) {
    spdlog::warn("running as root: set user = \"NAME\" (or --user NAME) to drop root once bound");
  }
  // Signals are caught before the "listening" line, which is what scripts wait for.
  SignalHandlers signals(&loop, *server, reloader);

  // Queries are read once every member's health is known (its first result, or saved health),
  // bounded by the longest check timeout: a replica already dead at start is never answered.
  publisher.awaitFirstHealth([&served] { return served.discoverySettled(); },
                             [&server, &settings] {
                               server->start();
                               for (const auto& address : settings.listen)
                                 spdlog::info("listening on {} (udp+tcp), {} threads",
                                              address.text, settings.threads);
                             });

  uv_run(&loop, UV_RUN_DEFAULT);
  server->stop();  // already stopped by the signal; here for the unexpected end of the loop
  if (int rc = uv_loop_close(&loop); rc != 0)
    spdlog::warn("main loop did not close cleanly: {}", uv_strerror(rc));

  server::Stats c = server->stats();
  spdlog::info(
      "stopped: {} udp queries ({} answers queued, {} dropped), {} tcp queries on {} "
      "connections ({} refused over the limits, {} idle ones closed to make room), {} "
      "truncated, {} unanswered, {} rate-limited ({} of them slipped), {} internal errors",
      c.udp_queries, c.udp_deferred, c.udp_dropped, c.tcp_queries, c.tcp_accepted, c.tcp_rejected,
      c.tcp_evicted, c.truncated, c.dropped, c.rate_limited, c.rate_slipped, c.errors);
  return kOk;
}

int run(int argc, char** argv) {
  Result<CommandLine> parsed = parseCommandLine(argc, argv);
  if (!parsed.ok()) {
    std::cerr << "rrdnsd: " << parsed.error().text() << "\n"
              << synopsis() << "(rrdnsd --help for more)\n";
    return kUsage;
  }
  const CommandLine command_line = std::move(parsed).value();
  if (command_line.help) {
    std::cout << usage();
    return kOk;
  }
  if (command_line.version) {
    std::cout << "rrdnsd " << RRDNS_VERSION << "\n";
    return kOk;
  }

  setUpLogging(command_line.log_level.value_or(spdlog::level::info));
  const bool check = command_line.check;
  // --check reports plainly, one line per problem; the daemon reports through the log.
  auto report = [check](const Errors& errors) {
    for (const Error& error : errors) {
      if (check)
        std::cerr << error.text() << "\n";
      else
        spdlog::error("{}", error.text());
    }
  };

  ConfigLoad config = resolveConfig(command_line);
  if (!config.ok()) {
    report(config.errors());
    if (!check) spdlog::error("cannot start: bad configuration");
    return kFailure;
  }
  spdlog::set_level(config->log_level);

  zone::ZoneSetLoad zones = zone::loadZoneSet(config->zones, config->zone_settings);
  // Warnings never stop a load; --check prints them with a prefix so scripts can tell them apart.
  for (const Error& warning : zones.warnings) {
    if (check)
      std::cerr << "warning: " << warning.text() << "\n";
    else
      spdlog::warn("{}", warning.text());
  }
  if (!zones.zones.ok()) {
    report(zones.zones.errors());
    if (!check) spdlog::error("cannot start: zone errors");
    return kFailure;
  }

  std::shared_ptr<const zone::ZoneSet> loaded = std::move(zones.zones).value();
  if (check) {
    for (const auto& zone : loaded->zones()) std::cout << "OK: " << describeZone(*zone) << "\n";
    return kOk;
  }
  for (const auto& zone : loaded->zones()) spdlog::info("zone {}", describeZone(*zone));
  return serve(command_line, *config, std::move(loaded));
}

}  // namespace
}  // namespace rrdns::app

int main(int argc, char** argv) {
  // A client that resets its TCP connection must cost us an error code, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Until the main loop's handler is installed, a SIGHUP (a reload asked for too early) must not
  // kill the daemon; the zones being loaded at that moment are fresh anyway.
  std::signal(SIGHUP, SIG_IGN);
  try {
    return rrdns::app::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rrdnsd: %s\n", e.what());
    return 1;
  }
}
