#include "progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <string>

namespace rebound::cli {

ProgressBar::ProgressBar(bool wanted) : enabled_(wanted && ::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::show(std::string_view label, std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || total == 0) return;
  constexpr std::uint64_t kWidth = 30;
  const std::uint64_t filled = std::min(done, total) * kWidth / total;
  std::string bar;
  for (std::uint64_t i = 0; i < kWidth; ++i) bar += i < filled ? "█" : "░";
  std::lock_guard lock(mu_);
  drawn_ = true;
  std::cerr << fmt::format("\r\033[K[{:<7}] {} {}/{}", label, bar, done, total) << std::flush;
}

void ProgressBar::clear() {
  std::lock_guard lock(mu_);
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace rebound::cli
