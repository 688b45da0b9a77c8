// TempDir — a fresh folder under the system temp directory, removed with
// everything in it when the TempDir is destroyed.
//
//   auto dir = rebound::TempDir::make("rebound-fleet-").value();
//   std::string db = (dir.path() / "fleet.db").string();
//   // ... ~TempDir() removes the folder
//
// The folder is made with mkdtemp (mode 0700, a name nobody else can take).
// Moving a TempDir moves the ownership; a moved-from TempDir removes nothing.
//
// Thread safety: one owner at a time; distinct TempDirs are independent.
#pragma once

#include <filesystem>
#include <string_view>

#include "rebound/core/error.hpp"

namespace rebound {

class TempDir {
 public:
  // Makes <temp>/<prefix>XXXXXX. Errors: transient, naming the path, when
  // the folder cannot be created (disk full, no temp directory).
  [[nodiscard]] static Result<TempDir> make(std::string_view prefix = "rebound-");

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  explicit TempDir(std::filesystem::path path) noexcept : path_(std::move(path)) {}
  void remove() noexcept;

  std::filesystem::path path_;
};

}  // namespace rebound
