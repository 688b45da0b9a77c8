// A user's program: retries a flaky operation with an installed rebound, and
// starts the installed fault server (rebound::emulator) on loopback.
#include <rebound/emulator/http_server.hpp>
#include <rebound/retry/retry_loop.hpp>

#include <cstdio>

int main() {
  int calls = 0;
  rebound::RetryPolicy policy = rebound::policies::serialization(0.0001);
  auto out = rebound::retry(policy, [&]() -> rebound::Result<int> {
    if (++calls < 3) {
      return rebound::fail(rebound::Error::make(rebound::ErrorClass::serialization_conflict,
                                                "could not serialize access"));
    }
    return 42;
  });
  if (!out || *out.value != 42 || out.report.attempts != 3) {
    std::fprintf(stderr, "consumer: unexpected result\n");
    return 1;
  }
  auto server = rebound::emulator::HttpServer::start();
  if (!server || (*server)->port() <= 0) {
    std::fprintf(stderr, "consumer: the fault server did not start\n");
    return 1;
  }
  std::printf("consumer: ok after %d attempts; fault server on port %d\n", out.report.attempts,
              (*server)->port());
  return 0;
}
