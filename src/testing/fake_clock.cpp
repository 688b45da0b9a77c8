// FakeClock is header-only; this file anchors the rebound::testing library.
#include "rebound/testing/fake_clock.hpp"
