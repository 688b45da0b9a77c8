// The built-in source is rebound::emulator::HttpServer — the same loopback
// server the HTTP tests use, with a handler that serves the workload and
// injects the fleet's faults.
#include "rebound/fleet/source.hpp"

#include <atomic>
#include <charconv>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "rebound/core/random.hpp"
#include "rebound/emulator/http_server.hpp"

namespace rebound::fleet {
namespace {

using emulator::Fault;
using emulator::Reply;
using emulator::ServerRequest;

enum class Injected { none, error, throttle, drop, slow };

// "processor=3&batch=1" -> value of `name`, or -1.
int query_int(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      const std::string_view text = pair.substr(name.size() + 1);
      int value = -1;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      return ec == std::errc{} && end == text.data() + text.size() ? value : -1;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return -1;
}

class BuiltinSource final : public Source {
 public:
  BuiltinSource(Workload workload, FaultRates faults)
      : workload_(std::move(workload)), faults_(faults) {}

  Status start() {
    auto server =
        emulator::HttpServer::start([this](const ServerRequest& req) { return serve(req); });
    if (!server) return fail(server.error());
    server_ = std::move(*server);
    return {};
  }

  std::string url() const override { return server_->url(""); }
  std::uint64_t requests() const override { return server_->requests_served(); }
  std::uint64_t faults() const override { return faults_served_.load(); }
  void mark_run_start() override {
    run_start_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count());
  }

 private:
  // The same request path meets the same fault on its n-th visit, in every run.
  Injected fault_for(int processor, int batch) {
    const std::uint64_t path =
        (static_cast<std::uint64_t>(processor) << 32) | static_cast<std::uint32_t>(batch);
    std::uint64_t visit = 0;
    {
      std::lock_guard lock(mu_);
      visit = visits_[path]++;
    }
    Rng rng{workload_.seed ^ (path * 0xbf58476d1ce4e5b9ULL) ^ (visit * 0x9e3779b97f4a7c15ULL)};
    double u = rng.uniform01();
    for (auto [rate, fault] : {std::pair{faults_.error_rate, Injected::error},
                               {faults_.throttle_rate, Injected::throttle},
                               {faults_.drop_rate, Injected::drop},
                               {faults_.slow_rate, Injected::slow}}) {
      if (u < rate) return fault;
      u -= rate;
    }
    return Injected::none;
  }

  bool degraded() const {
    if (faults_.trigger_for.count() <= 0) return false;
    const auto since = std::chrono::steady_clock::now().time_since_epoch() -
                       std::chrono::steady_clock::duration{run_start_ns_.load()};
    return since >= faults_.trigger_after && since < faults_.trigger_after + faults_.trigger_for;
  }

  Reply serve(const ServerRequest& req) {
    if (req.path == "/")
      return Reply::text(200, "rebound fleet source: GET /batch?processor=P&batch=B\n");
    if (req.path != "/batch")
      return Reply::text(404, "no such path; try /batch?processor=P&batch=B\n");
    const int processor = query_int(req.query, "processor");
    const int batch = query_int(req.query, "batch");
    if (processor < 0 || processor >= workload_.processors || batch < 0 ||
        batch >= workload_.batches) {
      return Reply::text(400,
                         R"({"error":"processor and batch must be integers within the workload"})");
    }
    // Network model: a new connection pays four round trips before its first
    // request (DNS lookup, TCP handshake, TLS 1.2 handshake), every response one more.
    std::this_thread::sleep_for(faults_.latency * (req.on_connection == 0 ? 5 : 1));
    const Injected fault = fault_for(processor, batch);
    if (degraded()) {
      faults_served_.fetch_add(1);
      return Reply::text(503, R"({"error":"injected: degraded, inside the fleet trigger window"})");
    }
    if (fault != Injected::none) faults_served_.fetch_add(1);
    switch (fault) {
      case Injected::error:
        return Reply::text(503, R"({"error":"injected: service unavailable"})");
      case Injected::throttle:
        return Reply::retry_after("1");
      case Injected::drop:
        return Reply::with_fault(Fault::drop);
      case Injected::slow:
        std::this_thread::sleep_for(faults_.slow_delay);
        break;
      case Injected::none:
        break;
    }
    Reply reply = Reply::text(200, to_json(workload_.batch(processor, batch)).dump());
    reply.headers.emplace_back("Content-Type", "application/json");
    return reply;
  }

  Workload workload_;
  FaultRates faults_;
  std::unique_ptr<emulator::HttpServer> server_;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, std::uint64_t> visits_;
  std::atomic<std::uint64_t> faults_served_{0};
  std::atomic<std::chrono::steady_clock::rep> run_start_ns_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
};

}  // namespace

Result<std::unique_ptr<Source>> Source::start(Workload workload, FaultRates faults) {
  for (double rate :
       {faults.error_rate, faults.throttle_rate, faults.drop_rate, faults.slow_rate}) {
    if (!(rate >= 0 && rate <= 1))
      return fail(Error::permanent("fault rates must be within [0, 1]"));
  }
  if (faults.trigger_after.count() < 0 || faults.trigger_for.count() < 0)
    return fail(Error::permanent("trigger_after and trigger_for must be >= 0 ms"));
  if (faults.error_rate + faults.throttle_rate + faults.drop_rate + faults.slow_rate > 1) {
    return fail(Error::permanent("fault rates must add up to at most 1"));
  }
  auto source = std::make_unique<BuiltinSource>(std::move(workload), faults);
  if (auto started = source->start(); !started) return fail(started.error());
  return std::unique_ptr<Source>(std::move(source));
}

}  // namespace rebound::fleet
