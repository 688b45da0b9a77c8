// The one progress bar of the rebound command: on stderr, and only when
// stderr is a terminal — never in pipes, logs or --json output.
//
//   ProgressBar bar(!args.quiet);
//   bar.show("naive", 96, 192);    // "[naive  ] ██████████░░░░░░░░░░ 96/192"
//   bar.clear();
//
// Thread safety: show() may be called from several threads at once.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

namespace rebound::cli {

class ProgressBar {
 public:
  // Draws only when `wanted` and stderr is a terminal.
  explicit ProgressBar(bool wanted);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar() { clear(); }

  // Redraws the line: the label, a bar filled done/total, and the counts.
  void show(std::string_view label, std::uint64_t done, std::uint64_t total);
  // Erases the line (also done by the destructor).
  void clear();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::mutex mu_;
};

}  // namespace rebound::cli
