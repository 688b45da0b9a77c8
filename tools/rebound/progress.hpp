// The one progress bar of the rebound command: on stderr, and only when
// stderr is a terminal — never in pipes, logs or --json output.
//
//   ProgressBar bar(!args.quiet);
//   bar.show("naive", 96, 192);    // "[naive  ] ██████████░░░░░░░░░░ 96/192"
//   bar.clear();
//
// Thread safety: show() may be called from several threads at once.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>

namespace rebound::cli {

class ProgressBar {
 public:
  // Draws only when `wanted` and stderr is a terminal.
  explicit ProgressBar(bool wanted) : enabled_(wanted && ::isatty(STDERR_FILENO) == 1) {}
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar() { clear(); }

  // Redraws the line: the label, a bar filled done/total, and the counts.
  void show(std::string_view label, std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total == 0) return;
    constexpr std::uint64_t kWidth = 30;
    const std::uint64_t filled = std::min(done, total) * kWidth / total;
    std::string bar;
    for (std::uint64_t i = 0; i < kWidth; ++i) bar += i < filled ? "█" : "░";
    std::lock_guard lock(mu_);
    drawn_ = true;
    std::cerr << fmt::format("\r\033[K[{:<7}] {} {}/{}", label, bar, done, total) << std::flush;
  }

  // Erases the line (also done by the destructor).
  void clear() {
    std::lock_guard lock(mu_);
    if (drawn_) std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::mutex mu_;
};

}  // namespace rebound::cli
