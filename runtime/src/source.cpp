// Directory sources and the manifest filter both kinds of source share.
#include "rockpool/runtime/source.hpp"

#include "source_internal.hpp"

#include "rockpool/specs/base64.hpp"

#include <fnmatch.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rockpool::runtime {

namespace fs = std::filesystem;
using specs::make_error;
using specs::reason;

manifest_filter::manifest_filter(const std::string& rockpoolignore) {
  std::istringstream in(rockpoolignore);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    auto start = line.find_first_not_of(' ');
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.front() == '/') line.erase(0, 1);  // anchored at the root: paths are relative already
    if (!line.empty()) patterns_.push_back(line);
  }
}

bool manifest_filter::ignored(const std::string& rel, bool is_directory) const {
  auto slash = rel.rfind('/');
  auto name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  for (auto p : patterns_) {
    bool dir_only = p.back() == '/';
    if (dir_only) p.pop_back();
    if (dir_only && !is_directory) continue;
    bool has_slash = p.find('/') != std::string::npos;
    const auto& subject = has_slash ? rel : name;
    if (fnmatch(p.c_str(), subject.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

bool manifest_filter::wanted_directory(const std::string& rel) const {
  auto slash = rel.rfind('/');
  auto name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  return !name.empty() && name.front() != '.' && !ignored(rel, true);
}

bool manifest_filter::wanted_file(const std::string& rel) const {
  auto slash = rel.rfind('/');
  auto name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (name.empty() || name.front() == '.') return false;
  auto dot = name.rfind('.');
  auto ext = dot == std::string::npos ? std::string() : name.substr(dot);
  if (ext != ".yaml" && ext != ".yml" && ext != ".json") return false;
  return !ignored(rel, false);
}

snapshot_builder::snapshot_builder(const source_limits& limits) : limits_(limits) {}

specs::status snapshot_builder::add(std::string path, std::string content) {
  if (snap_.files.size() >= limits_.max_files)
    return make_error(reason::unavailable, "the source holds more than " +
                                               std::to_string(limits_.max_files) + " manifests");
  if (content.size() > limits_.max_file_bytes)
    return make_error(
        reason::unavailable,
        path + " is larger than " + std::to_string(limits_.max_file_bytes >> 20) + " MiB");
  total_ += content.size();
  if (total_ > limits_.max_total_bytes)
    return make_error(reason::unavailable, "the source's manifests are larger than " +
                                               std::to_string(limits_.max_total_bytes >> 20) +
                                               " MiB in all");
  snap_.files.push_back({std::move(path), std::move(content)});
  return specs::done{};
}

source_snapshot snapshot_builder::finish(std::string revision) && {
  std::sort(snap_.files.begin(), snap_.files.end(),
            [](const source_file& a, const source_file& b) { return a.path < b.path; });
  snap_.revision = std::move(revision);
  return std::move(snap_);
}

namespace {

specs::result<std::string> read_whole(const fs::path& p, std::size_t limit) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return make_error(reason::unavailable, "cannot read " + p.string() + ": " + ec.message());
  if (size > limit)
    return make_error(reason::unavailable,
                      p.string() + " is larger than " + std::to_string(limit >> 20) + " MiB");
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error(reason::unavailable, "cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_ignore_file(const fs::path& dir) {
  auto r = read_whole(dir / ".rockpoolignore", 1u << 20);
  return r.ok() ? *r : std::string();
}

}  // namespace

specs::result<source_snapshot> read_directory(const std::string& dir, const source_limits& limits) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error(reason::unavailable, "directory " + dir + " does not exist");
  manifest_filter filter(read_ignore_file(dir));
  snapshot_builder out(limits);
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return make_error(reason::unavailable, "cannot read " + dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return make_error(reason::unavailable, "cannot read " + dir + ": " + ec.message());
    auto rel = fs::relative(it->path(), dir, ec).generic_string();
    if (it->is_directory(ec)) {
      if (!filter.wanted_directory(rel)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || !filter.wanted_file(rel)) continue;
    auto content = read_whole(it->path(), limits.max_file_bytes);
    if (!content.ok()) return content.err();
    if (auto st = out.add(rel, std::move(*content)); !st.ok()) return st.err();
  }
  auto snap = std::move(out).finish({});
  snap.revision = "sha1:" + content_digest(snap.files);
  return snap;
}

// Git's blob id of the files' paths, sizes and contents (what libgit2's
// git_odb_hash gave before GitSync loaded libgit2 only for Git sources), so a
// directory's revision is unchanged across that step.
std::string content_digest(const std::vector<source_file>& files) {
  std::string all;
  for (const auto& f : files) {
    all += f.path;
    all += '\0';
    all += std::to_string(f.content.size());
    all += '\0';
    all += f.content;
  }
  std::string object = "blob " + std::to_string(all.size()) + '\0' + all;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(object.data(), object.size(), digest, &n, EVP_sha1(), nullptr);
  return specs::hex_encode(std::string_view(reinterpret_cast<const char*>(digest), n));
}

}  // namespace rockpool::runtime
