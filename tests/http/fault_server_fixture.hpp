// What the http:: tests against the fault-injecting server share: the server
// and its scripted replies (rebound::emulator::HttpServer), the fake clock
// that takes every retry sleep, and the result matchers. One line brings them
// into a test file:
//
//   #include "fault_server_fixture.hpp"
//   namespace rebound::http {
//   namespace {
//   using namespace fault_server_fixture;
//   ...
//     auto server = HttpServer::start().value();
//     server->script("/down", {Reply::status_only(503)});
//     EXPECT_THAT(client->get(server->url("/down")), HasErrorClass(ErrorClass::transient));
//
// Thread safety: declarations only.
#pragma once

#include <gmock/gmock.h>

#include "rebound/emulator/http_server.hpp"
#include "rebound/http/client.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

namespace rebound::http::fault_server_fixture {

using namespace std::chrono_literals;
using namespace rebound::testing::result_matchers;
using emulator::Fault;
using emulator::HttpServer;
using emulator::Reply;
using emulator::ServerRequest;
using rebound::testing::FakeClock;

}  // namespace rebound::http::fault_server_fixture
