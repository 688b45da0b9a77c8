#include "rebound/http/async_client.hpp"

#include <atomic>
#include <vector>

#include "curl_easy.hpp"
#include "multi_engine.hpp"
#include "transfer.hpp"

namespace rebound::http {

struct AsyncClient::Impl {
  ClientOptions options;
  AsyncOptions async;
  detail::Share share;
  detail::Counters counters;
  detail::HedgeCounters hedges;
  std::vector<std::unique_ptr<detail::MultiEngine>> engines;
  std::atomic<std::size_t> next_engine{0};
  std::mutex shutdown_mu;

  Impl(ClientOptions o, AsyncOptions a) : options(std::move(o)), async(a) {}

  // Builds the operation on the calling thread: validation and header list
  // cost nothing on the event thread, and a bad request fails right here.
  Result<std::unique_ptr<detail::Op>> prepare(Request& request, Callback& done) {
    auto target = detail::validate(request, options);
    if (!target) return fail(target.error());
    auto op = std::make_unique<detail::Op>();
    op->headers = detail::header_list(options, request);
    op->idempotent = detail::is_idempotent(request);
    const std::string method = detail::upper(request.method);
    op->hedgeable = op->idempotent && (method == "GET" || method == "HEAD");
    op->target = std::move(*target);
    op->policy = options.retry;
    // Runs on the event thread, before each retry is scheduled.
    op->policy.on_retry = [this, on_request = request.on_retry](const RetryEvent& event) {
      counters.retries[static_cast<std::size_t>(event.error_class)].fetch_add(
          1, std::memory_order_relaxed);
      if (options.retry.on_retry) options.retry.on_retry(event);
      if (on_request) on_request(event);
    };
    op->request = std::move(request);
    op->done = std::move(done);
    return op;
  }
};

Result<std::shared_ptr<AsyncClient>> AsyncClient::make(ClientOptions options, AsyncOptions async) {
  if (auto ok = detail::check_options(options); !ok) return fail(ok.error());
  auto invalid = [](const std::string& what) {
    return fail(Error::permanent("invalid async http client option: " + what));
  };
  if (async.event_threads == 0 || async.event_threads > 8)
    return invalid("event_threads must be in 1..8, got " + std::to_string(async.event_threads));
  if (async.hedge.enabled && async.hedge.delay <= Duration::zero())
    return invalid("hedge.delay must be > 0");
  if (async.hedge.enabled && async.hedge.use_host_p95 &&
      (async.hedge.window == 0 || async.hedge.min_samples == 0))
    return invalid("hedge.window and hedge.min_samples must be >= 1 with use_host_p95");
  detail::ensure_curl_initialized();
  auto impl = std::make_unique<Impl>(std::move(options), async);
  if (impl->share.get() == nullptr) return fail(Error::transient("curl_share_init failed"));
  // The connection limits are client-wide; each event thread gets its share.
  const std::size_t threads = impl->async.event_threads;
  const std::size_t per_engine =
      std::max<std::size_t>(1, (impl->options.max_connections + threads - 1) / threads);
  for (std::size_t i = 0; i < threads; ++i) {
    auto engine = std::make_unique<detail::MultiEngine>(
        impl->options, impl->async, impl->share.get(), impl->counters, impl->hedges, per_engine);
    if (!engine->ok())
      return fail(Error::transient("could not create a curl multi handle, epoll or eventfd"));
    impl->engines.push_back(std::move(engine));
  }
  for (auto& engine : impl->engines) engine->start();
  return std::shared_ptr<AsyncClient>(new AsyncClient(std::move(impl)));
}

AsyncClient::AsyncClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AsyncClient::~AsyncClient() { shutdown(); }

void AsyncClient::send_async(Request request, Callback done) {
  impl_->counters.requests.fetch_add(1, std::memory_order_relaxed);
  auto op = impl_->prepare(request, done);
  if (!op) {
    impl_->counters.failures.fetch_add(1, std::memory_order_relaxed);
    done(fail(std::move(op).error()));  // invalid: nothing sent, reported at once
    return;
  }
  const std::size_t i =
      impl_->next_engine.fetch_add(1, std::memory_order_relaxed) % impl_->engines.size();
  impl_->engines[i]->submit(std::move(*op));
}

std::future<Result<Response>> AsyncClient::send_async(Request request) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto future = promise->get_future();
  send_async(std::move(request),
             [promise](Result<Response> r) { promise->set_value(std::move(r)); });
  return future;
}

std::future<Result<Response>> AsyncClient::get_async(std::string url, Headers headers) {
  return send_async(Request{.method = "GET", .url = std::move(url), .headers = std::move(headers)});
}

void AsyncClient::shutdown() {
  std::lock_guard lock(impl_->shutdown_mu);
  for (auto& engine : impl_->engines) engine->stop();
}

ClientStats AsyncClient::stats() const { return impl_->counters.snapshot(); }

HedgeStats AsyncClient::hedge_stats() const {
  const detail::HedgeCounters& h = impl_->hedges;
  return {.sent = h.sent.load(std::memory_order_relaxed),
          .won = h.won.load(std::memory_order_relaxed),
          .denied = h.denied.load(std::memory_order_relaxed),
          .cancelled = h.cancelled.load(std::memory_order_relaxed)};
}

const ClientOptions& AsyncClient::options() const noexcept { return impl_->options; }

std::size_t AsyncClient::event_threads() const noexcept { return impl_->engines.size(); }

}  // namespace rebound::http
