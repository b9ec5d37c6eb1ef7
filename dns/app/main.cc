// main.cc -- rrdnsd: parse the command line, load, bind, serve until a signal says stop.
//
// Reading order: options.hh (command line), config.hh (server TOML), then run() below, then
// reloader.hh; the query path itself is in dns/server.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <unistd.h>

#include <csignal>
#include <filesystem>
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
#include "dns/app/sd_notify.hh"
#include "dns/app/takeover.hh"
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

// `takeover`: set when a running rrdnsd started this one to replace it (takeover.hh); the
// sockets then come from that daemon rather than from bind().
int serve(const CommandLine& command_line, const Config& config,
          std::shared_ptr<const zone::ZoneSet> zones, std::vector<std::string> argv,
          TakeoverClient* takeover) {
  server::ServerSettings settings = serverSettings(config);
  std::string error;
  auto catalog =
      answer::Catalog::make(std::move(zones), answer::Precompile::Background, logTableReady);
  std::unique_ptr<server::Server> server;
  uv::Fd handed_control;
  if (takeover != nullptr) {
    Result<TakeoverClient::Sockets> handed = takeover->takeSockets(settings, config.control);
    if (!handed.ok()) {
      spdlog::error("cannot take over: {}", handed.error().text());
      return kFailure;
    }
    handed_control = std::move(handed->control);
    server = server::Server::adopt(settings, catalog, std::move(handed->listen), error);
  } else {
    server = server::Server::create(settings, catalog, error);
  }
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
  // Keys are opened (or made) here, as whoever starts rrdnsd; with `user` they are handed to it
  // below, before root is given up.
  if (Result<void> keys = served.prepareKeys(*catalog->zones, config.key_directory); !keys.ok())
    return failStartup(keys.error().text());
  if (Result<void> published = served.publish(catalog); !published.ok())
    return failStartup(published.error().text());
  Reloader reloader(&loop, command_line, config, served);
  ControlHandler control_handler(publisher, reloader, *server, settings, served.dnssec());
  MetricsFeed metrics_feed(*server, publisher, reloader, notifier, served.dnssec());
  std::unique_ptr<metrics::MetricsExporter> exporter;
  auto startMetrics = [&]() -> std::string {
    if (config.metrics.empty()) return {};
    metrics_feed.update();
    publisher.onPublished([&metrics_feed] { metrics_feed.update(); });
    exporter = metrics::MetricsExporter::create(
        config.metrics, [&metrics_feed] { return metrics_feed.collect(); }, error);
    if (!exporter) return error;
    spdlog::info("metrics on http://{}/metrics", config.metrics);
    return {};
  };
  // A daemon taking over binds the metrics port only once the old one has let go of it.
  if (takeover == nullptr)
    if (std::string why = startMetrics(); !why.empty()) return failStartup(why);
  Replacer replacer(&loop, std::move(argv), *server,
                    {.save_state = [&publisher] { (void)publisher.saveState(); },
                     .released =
                         [&exporter, &publisher] {
                           publisher.releaseStateFile();
                           exporter.reset();
                         },
                     .stop = [&] {
                       reloader.shutdown();
                       server->stop();
                       uv::closeAllHandles(&loop);
                     }});
  std::unique_ptr<control::ControlServer> control;
  std::vector<std::string> owned;  // handed to `user` before the switch
  if (!config.control.empty()) {
    // The socket's directory goes to `user` too (/run/rrdns when rrdnsd runs without systemd's
    // RuntimeDirectory=), so that rrdnsd, no longer root, can still remove its socket at stop.
    if (std::string dir = makeParentDirectory(config.control); !dir.empty()) {
      spdlog::info("control: created {}", dir);
      owned.push_back(dir);
    }
    auto handler = [&control_handler, &replacer](const control::Json& request,
                                                 const control::Peer& peer, control::Reply reply) {
      if (request.value("cmd", "") == "replace")
        return replacer.replace(request, peer, std::move(reply));
      control_handler.handle(request, peer, std::move(reply));
    };
    const bool adopted = handed_control.valid();
    auto created = adopted
                       ? control::ControlServer::adopt(&loop, config.control,
                                                       handed_control.release(), handler)
                       : control::ControlServer::create(&loop, config.control, handler);
    if (!created.ok()) return failStartup(created.error().text());
    control = std::move(created).value();
    control->setFdHandler([&replacer](const control::Json& request, const control::Peer& peer,
                                      control::FdReply reply) {
      replacer.takeover(request, peer, std::move(reply));
    });
    replacer.attach(*control);
    if (!adopted) owned.push_back(config.control);
    spdlog::info("control socket {} (rrdnsctl --socket {})", config.control, config.control);
  }
  // Every socket is bound (ports below 1024 and the control socket's directory may need root):
  // from here on nothing does, so give it up before the first query is read.
  if (!config.user.empty()) {
    // The DNSSEC keys, made or read as root above, stay the daemon's: rollovers write them.
    if (!config.key_directory.empty()) {
      std::error_code ec;
      if (std::filesystem::is_directory(config.key_directory, ec)) {
        owned.push_back(config.key_directory);
        for (const auto& entry :
             std::filesystem::recursive_directory_iterator(config.key_directory, ec))
          owned.push_back(entry.path().string());
      }
    }
    if (std::string why = dropPrivileges(config.user, owned); !why.empty()) return failStartup(why);
    spdlog::info("running as user {} (uid {}, gid {})", config.user, ::getuid(), ::getgid());
  } else if (::geteuid() == 0) {
    spdlog::warn("running as root: set user = \"NAME\" (or --user NAME) to drop root once bound");
  }
  // Signals are caught before the "listening" line, which is what scripts wait for.
  SignalHandlers signals(&loop, *server, reloader);

  // The start sequence, in one place: read the sockets, then (a daemon taking over) tell the old
  // one to stop and take the metrics port, then tell systemd. Queries are read once every
  // member's health is known (its first result, or saved health), bounded by the longest check
  // timeout: a replica already dead at start is never answered. A daemon taking over waits the
  // same way, while the old one keeps answering.
  auto startServing = [&server, &settings, takeover, &startMetrics] {
    server->start();
    for (const auto& address : settings.listen)
      spdlog::info("listening on {} (udp+tcp), {} threads", address.text, settings.threads);
    if (takeover == nullptr) {
      sdNotify("READY=1");
      return;
    }
    // Both daemons read the sockets now; the old one stops once it hears this.
    if (Result<void> done = takeover->ready(); !done.ok())
      spdlog::warn("takeover: the old rrdnsd did not confirm: {}", done.error().text());
    if (std::string why = startMetrics(); !why.empty())
      spdlog::error("metrics: {}; serving without them", why);
    // systemd follows the new process (NotifyAccess=all: the old one is still the main PID).
    sdNotify("MAINPID=" + std::to_string(::getpid()) + "\nREADY=1");
  };
  publisher.awaitFirstHealth([&served] { return served.discoverySettled(); }, startServing);

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

int run(int argc, char** argv, TakeoverClient* takeover) {
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
  if (takeover != nullptr) takeover->watchLog();
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
  if (Result<void> keys = DnssecZones::checkKeyDirectory(*loaded, config->key_directory);
      !keys.ok()) {
    report(keys.errors());
    if (!check) spdlog::error("cannot start: zone errors");
    return kFailure;
  }
  if (check) {
    for (const auto& zone : loaded->zones()) std::cout << "OK: " << describeZone(*zone) << "\n";
    return kOk;
  }
  for (const auto& zone : loaded->zones()) spdlog::info("zone {}", describeZone(*zone));
  return serve(command_line, *config, std::move(loaded),
               std::vector<std::string>(argv, argv + argc), takeover);
}

}  // namespace
}  // namespace rrdns::app

int main(int argc, char** argv) {
  // A client that resets its TCP connection must cost us an error code, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Until the main loop's handler is installed, a SIGHUP (a reload asked for too early) must not
  // kill the daemon; the zones being loaded at that moment are fresh anyway.
  std::signal(SIGHUP, SIG_IGN);
  // Started by `rrdnsctl replace`: a failed start is reported to the daemon being replaced.
  auto takeover = rrdns::app::TakeoverClient::fromEnvironment();
  int status = 1;
  try {
    status = rrdns::app::run(argc, argv, takeover.get());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rrdnsd: %s\n", e.what());
  }
  if (takeover && status != 0) takeover->failed(status);
  return status;
}
