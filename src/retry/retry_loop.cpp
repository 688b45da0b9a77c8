// retry_throwing()'s default exception classifier; the loop itself is the
// retry() template over detail::RetryState (retry_state.cpp).
#include "rebound/retry/retry_loop.hpp"

namespace rebound {

Error classify_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Exception& ex) {
    return ex.error();
  } catch (const std::exception& ex) {
    return Error::permanent(ex.what());
  } catch (...) {
    return Error::permanent("unknown exception (not derived from std::exception)");
  }
}

}  // namespace rebound
