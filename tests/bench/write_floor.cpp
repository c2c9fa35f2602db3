// The least a durable HTTP write can cost on this machine: a server that
// does nothing but read an HTTP/1.1 request, append its body to one file,
// fdatasync it (concurrent requests share one sync: group commit) and answer
// 201 with the body. One thread per connection, so no request is handed
// from thread to thread except to share a sync. No parsing, no validation,
// no index, no events: what rockpoold and etcd do above this is their cost;
// below it is the kernel's, the disk's and the client's (docs/benchmarks.md,
// "The floor under a durable write").
//
// With --overwrite the file is first written with zeros (64 MiB) and synced,
// and the log then overwrites it from the start: a sync then writes only
// data, not the inode, as a recycled write-ahead log does (RocksDB's
// recycle_log_file_num); etcd and rockpoold append.
//
//   write_floor PORT FILE [--overwrite]   (runs until killed; write_floor.sh drives it)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace {

// Leader-based group commit, the same shape as the RocksDB backend's.
class log_file {
 public:
  explicit log_file(int fd) : fd_(fd) {}

  bool append(const std::string& record) {
    pending p(&record);
    std::unique_lock lk(mu_);
    queue_.push_back(&p);
    p.wake.wait(lk, [&] { return p.done || (!leading_ && queue_.front() == &p); });
    if (p.done) return p.ok;
    leading_ = true;
    std::deque<pending*> group;
    group.swap(queue_);
    lk.unlock();
    std::string batch;
    for (auto* q : group) batch += *q->record;
    bool ok = ::write(fd_, batch.data(), batch.size()) == static_cast<ssize_t>(batch.size()) &&
              ::fdatasync(fd_) == 0;
    lk.lock();
    leading_ = false;
    for (auto* q : group) {
      q->ok = ok;
      q->done = true;
      if (q != &p) q->wake.notify_one();
    }
    if (!queue_.empty()) queue_.front()->wake.notify_one();
    return ok;
  }

 private:
  struct pending {
    explicit pending(const std::string* r) : record(r) {}
    const std::string* record;
    bool done = false, ok = false;
    std::condition_variable wake;
  };
  int fd_;
  std::mutex mu_;
  std::deque<pending*> queue_;
  bool leading_ = false;
};

// Reads one request into `body`; false when the peer closed or sent garbage.
bool read_request(int fd, std::string& buf, std::string& body) {
  std::size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    char chunk[4096];
    auto n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0 || buf.size() > (1 << 16)) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  std::size_t length = 0;
  for (std::size_t at = buf.find("\r\n"); at < end; at = buf.find("\r\n", at + 2))
    if (strncasecmp(buf.c_str() + at + 2, "content-length:", 15) == 0)
      length = std::strtoul(buf.c_str() + at + 17, nullptr, 10);
  while (buf.size() < end + 4 + length) {
    char chunk[4096];
    auto n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  body = buf.substr(end + 4, length);
  buf.erase(0, end + 4 + length);
  return true;
}

void serve(int fd, log_file& log) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string buf, body;
  while (read_request(fd, buf, body)) {
    bool ok = log.append(std::to_string(body.size()) + "\n" + body + "\n");
    std::string answer =
        std::string(ok ? "HTTP/1.1 201 Created" : "HTTP/1.1 500 Error") +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    if (::write(fd, answer.data(), answer.size()) != static_cast<ssize_t>(answer.size())) break;
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  bool overwrite = argc == 4 && std::strcmp(argv[3], "--overwrite") == 0;
  if (argc != 3 && !overwrite) {
    std::fprintf(stderr, "usage: write_floor PORT FILE [--overwrite]\n");
    return 2;
  }
  int file = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | (overwrite ? 0 : O_APPEND), 0600);
  if (file < 0) return std::perror(argv[2]), 1;
  if (overwrite) {
    std::string zeros(1 << 20, '\0');
    for (int i = 0; i < 64; ++i)
      if (::write(file, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size()))
        return std::perror("prewrite"), 1;
    if (::fsync(file) != 0 || ::lseek(file, 0, SEEK_SET) != 0) return std::perror("prewrite"), 1;
  }
  log_file log(file);
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 256) != 0)
    return std::perror("listen"), 1;
  for (;;) {
    int c = ::accept(s, nullptr, nullptr);
    if (c >= 0) std::thread([c, &log] { serve(c, log); }).detach();
  }
}
