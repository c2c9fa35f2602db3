#include "rockpool/specs/manifests.hpp"

#include "rockpool/specs/schema.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace rockpool::specs {

namespace fs = std::filesystem;

namespace {

void add_text(manifest_set& all, const std::string& source, const std::string& text) {
  auto d = decode_documents(text, source);
  for (auto& doc : d.documents) all.documents.push_back(std::move(doc));
  for (auto& p : d.problems) all.problems.push_back(std::move(p));
}

void add_file(manifest_set& all, const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (!ec && size > max_input_bytes) {
    all.problems.push_back({p.string(), 0, {}, {}, "file is larger than 64 MiB", {}});
    return;
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    all.problems.push_back({p.string(), 0, {}, {}, "cannot read file", {}});
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  add_text(all, p.string(), ss.str());
}

bool is_manifest(const fs::path& p) {
  auto e = p.extension().string();
  return e == ".yaml" || e == ".yml" || e == ".json";
}

std::vector<fs::path> manifests_in(const std::string& dir, bool recursive) {
  std::vector<fs::path> files;
  std::error_code ec;
  auto take = [&](const fs::directory_entry& e) {
    if (e.is_regular_file() && is_manifest(e.path())) files.push_back(e.path());
  };
  if (recursive)
    for (const auto& e : fs::recursive_directory_iterator(dir, ec)) take(e);
  else
    for (const auto& e : fs::directory_iterator(dir, ec)) take(e);
  std::sort(files.begin(), files.end());
  return files;
}

int apply_order(const json::value& obj) {
  const auto* k = find_kind(string_at(obj, "kind"));
  return k ? k->apply_order : std::numeric_limits<int>::max();
}

}  // namespace

manifest_set load_manifests(const std::vector<std::string>& paths, bool recursive,
                            std::istream& in) {
  manifest_set all;
  for (const auto& path : paths) {
    std::error_code ec;
    if (path == "-") {
      std::stringstream ss;
      ss << in.rdbuf();
      add_text(all, "-", ss.str());
    } else if (fs::is_directory(path, ec)) {
      for (const auto& f : manifests_in(path, recursive)) add_file(all, f);
    } else if (fs::exists(path, ec)) {
      add_file(all, path);
    } else {
      all.problems.push_back({path, 0, {}, {}, "no such file or directory", {}});
    }
  }
  return all;
}

void validate_and_order(manifest_set& set, const validation_context& ctx) {
  auto more = validate_input(set.documents, ctx);
  set.problems.insert(set.problems.end(), more.begin(), more.end());
  std::stable_sort(set.documents.begin(), set.documents.end(),
                   [](const document& a, const document& b) {
                     return apply_order(a.value) < apply_order(b.value);
                   });
}

manifest_set load_and_validate(const std::vector<std::string>& paths, bool recursive,
                               std::istream& in, const validation_context& ctx) {
  auto set = load_manifests(paths, recursive, in);
  validate_and_order(set, ctx);
  return set;
}

}  // namespace rockpool::specs
