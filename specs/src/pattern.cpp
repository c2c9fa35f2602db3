#include "rockpool/specs/pattern.hpp"

#include <cctype>
#include <memory>
#include <string>

namespace rockpool::specs {

namespace {

// A parsed expression: what the compiler turns into instructions.
struct node {
  enum class type { bytes, concat, alternate, star, plus, optional, begin, end, empty } what;
  std::bitset<256> bytes;
  std::vector<std::unique_ptr<node>> children;
};
using node_ptr = std::unique_ptr<node>;

node_ptr make(node::type t) {
  auto n = std::make_unique<node>();
  n->what = t;
  return n;
}

std::bitset<256> range(unsigned char from, unsigned char to) {
  std::bitset<256> b;
  for (unsigned c = from; c <= to; ++c) b.set(c);
  return b;
}

std::bitset<256> escape_class(char c, bool& known) {
  known = true;
  switch (c) {
    case 'd':
      return range('0', '9');
    case 'w':
      return range('a', 'z') | range('A', 'Z') | range('0', '9') | range('_', '_');
    case 's':
      return range(' ', ' ') | range('\t', '\r');
    default:
      break;
  }
  known = false;
  return {};
}

constexpr int max_nodes = 4096;  // bounds {m,n} expansion

// Recursive descent over the pattern (bounded by the pattern, never the text).
class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  result<node_ptr> parse() {
    auto n = alternation();
    if (!error_.empty()) return make_error(reason::invalid, error_);
    if (pos_ != s_.size()) return make_error(reason::invalid, fail("unexpected ')'"));
    return n;
  }

 private:
  std::string fail(const std::string& what) {
    if (error_.empty())
      error_ = "pattern " + std::string(s_) + ": " + what + " at offset " + std::to_string(pos_);
    return error_;
  }
  bool more() const { return pos_ < s_.size() && error_.empty(); }

  node_ptr alternation() {
    auto first = concatenation();
    if (!more() || s_[pos_] != '|') return first;
    auto alt = make(node::type::alternate);
    alt->children.push_back(std::move(first));
    while (more() && s_[pos_] == '|') {
      ++pos_;
      alt->children.push_back(concatenation());
    }
    return alt;
  }

  node_ptr concatenation() {
    auto cat = make(node::type::concat);
    while (more() && s_[pos_] != '|' && s_[pos_] != ')') cat->children.push_back(repetition());
    return cat;
  }

  node_ptr repetition() {
    auto n = atom();
    while (more()) {
      char c = s_[pos_];
      if (c == '*' || c == '+' || c == '?') {
        ++pos_;
        auto r = make(c == '*'   ? node::type::star
                      : c == '+' ? node::type::plus
                                 : node::type::optional);
        r->children.push_back(std::move(n));
        n = std::move(r);
      } else if (c == '{') {
        n = counted(std::move(n));
      } else {
        break;
      }
    }
    return n;
  }

  int number() {
    int v = -1;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      v = (v < 0 ? 0 : v * 10) + (s_[pos_++] - '0');
      if (v > 255) {
        fail("repeat count above 255");
        return -1;
      }
    }
    return v;
  }

  // x{m}, x{m,}, x{m,n} become m copies of x and then x* or (n-m) x?.
  node_ptr counted(node_ptr n) {
    ++pos_;
    int lo = number(), hi = lo;
    if (pos_ < s_.size() && s_[pos_] == ',') {
      ++pos_;
      hi = number();
      if (hi < 0) hi = -2;  // unbounded
    }
    if (lo < 0 || pos_ >= s_.size() || s_[pos_] != '}' || (hi >= 0 && hi < lo)) {
      fail("malformed {m,n}");
      return n;
    }
    ++pos_;
    nodes_ += lo + (hi < 0 ? 1 : hi - lo);
    if (nodes_ > max_nodes) {
      fail("pattern too large");
      return n;
    }
    auto cat = make(node::type::concat);
    for (int i = 0; i < lo; ++i) cat->children.push_back(copy(*n));
    int extra = hi < 0 ? 1 : hi - lo;
    for (int i = 0; i < extra; ++i) {
      auto r = make(hi < 0 ? node::type::star : node::type::optional);
      r->children.push_back(copy(*n));
      cat->children.push_back(std::move(r));
    }
    return cat;
  }

  static node_ptr copy(const node& n) {
    auto c = make(n.what);
    c->bytes = n.bytes;
    for (const auto& ch : n.children) c->children.push_back(copy(*ch));
    return c;
  }

  node_ptr atom() {
    char c = s_[pos_++];
    switch (c) {
      case '(': {
        if (s_.substr(pos_, 2) == "?:") pos_ += 2;
        auto n = alternation();
        if (pos_ >= s_.size() || s_[pos_] != ')') fail("missing ')'");
        ++pos_;
        return n;
      }
      case '[':
        return character_class();
      case '^':
        return make(node::type::begin);
      case '$':
        return make(node::type::end);
      case '.': {
        auto n = make(node::type::bytes);
        n->bytes.set().reset('\n');
        return n;
      }
      case '*':
      case '+':
      case '?':
      case '{':
      case ')':
      case '|':
        fail(std::string("nothing to repeat before '") + c + "'");
        return make(node::type::empty);
      case '\\':
        return escaped();
      default: {
        auto n = make(node::type::bytes);
        n->bytes.set(static_cast<unsigned char>(c));
        return n;
      }
    }
  }

  node_ptr escaped() {
    auto n = make(node::type::bytes);
    if (pos_ >= s_.size()) {
      fail("trailing '\\'");
      return n;
    }
    char e = s_[pos_++];
    bool known = false;
    n->bytes = escape_class(e, known);
    if (known) return n;
    if (std::isalnum(static_cast<unsigned char>(e))) fail(std::string("unsupported escape \\") + e);
    n->bytes.set(static_cast<unsigned char>(e));
    return n;
  }

  node_ptr character_class() {
    auto n = make(node::type::bytes);
    bool negate = pos_ < s_.size() && s_[pos_] == '^';
    if (negate) ++pos_;
    bool first = true;
    while (pos_ < s_.size() && (s_[pos_] != ']' || first)) {
      first = false;
      unsigned char lo = static_cast<unsigned char>(s_[pos_++]);
      if (lo == '\\' && pos_ < s_.size()) {
        bool known = false;
        auto set = escape_class(s_[pos_], known);
        if (known) {
          ++pos_;
          n->bytes |= set;
          continue;
        }
        lo = static_cast<unsigned char>(s_[pos_++]);
      }
      if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
        unsigned char hi = static_cast<unsigned char>(s_[pos_ + 1]);
        pos_ += 2;
        if (hi < lo) fail("reversed range in class");
        n->bytes |= range(lo, hi);
      } else {
        n->bytes.set(lo);
      }
    }
    if (pos_ >= s_.size()) fail("missing ']'");
    ++pos_;
    if (negate) n->bytes.flip();
    return n;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int nodes_ = 0;
  std::string error_;
};

}  // namespace

class pattern_compiler {
 public:
  using op = pattern::instruction::op;
  explicit pattern_compiler(pattern& p) : prog_(p.program_) {}

  int emit(op o) {
    prog_.push_back({o, {}, 0, 0});
    return static_cast<int>(prog_.size()) - 1;
  }
  int here() const { return static_cast<int>(prog_.size()); }

  void compile(const node& n) {
    switch (n.what) {
      case node::type::bytes:
        prog_[emit(op::byte)].bytes = n.bytes;
        break;
      case node::type::begin:
        emit(op::begin);
        break;
      case node::type::end:
        emit(op::end);
        break;
      case node::type::empty:
        break;
      case node::type::concat:
        for (const auto& c : n.children) compile(*c);
        break;
      case node::type::alternate:
        alternate(n, 0);
        break;
      case node::type::star: {
        int split = emit(op::split);
        compile(*n.children[0]);
        prog_[emit(op::jump)].x = split;
        prog_[split].x = split + 1;
        prog_[split].y = here();
        break;
      }
      case node::type::plus: {
        int start = here();
        compile(*n.children[0]);
        int split = emit(op::split);
        prog_[split].x = start;
        prog_[split].y = here();
        break;
      }
      case node::type::optional: {
        int split = emit(op::split);
        compile(*n.children[0]);
        prog_[split].x = split + 1;
        prog_[split].y = here();
        break;
      }
    }
  }

 private:
  void alternate(const node& n, std::size_t i) {
    if (i + 1 == n.children.size()) {
      compile(*n.children[i]);
      return;
    }
    int split = emit(op::split);
    compile(*n.children[i]);
    int jump = emit(op::jump);
    prog_[split].x = split + 1;
    prog_[split].y = here();
    alternate(n, i + 1);
    prog_[jump].x = here();
  }

  std::vector<pattern::instruction>& prog_;
};

result<pattern> pattern::compile(std::string_view source) {
  auto tree = parser(source).parse();
  if (!tree.ok()) return tree.err();
  pattern p;
  pattern_compiler c(p);
  c.compile(**tree);
  c.emit(instruction::op::match);
  return p;
}

bool pattern::search(std::string_view text) const {
  const int size = static_cast<int>(program_.size());
  std::vector<int> current, next, stack;
  std::vector<std::size_t> seen(size, static_cast<std::size_t>(-1));
  // Adds pc and everything reachable from it without reading a byte.
  auto add = [&](std::vector<int>& list, int start, std::size_t at) {
    stack.assign(1, start);
    while (!stack.empty()) {
      int pc = stack.back();
      stack.pop_back();
      if (seen[pc] == at) continue;
      seen[pc] = at;
      const auto& in = program_[pc];
      switch (in.what) {
        case instruction::op::jump:
          stack.push_back(in.x);
          break;
        case instruction::op::split:
          stack.push_back(in.y);
          stack.push_back(in.x);
          break;
        case instruction::op::begin:
          if (at == 0) stack.push_back(pc + 1);
          break;
        case instruction::op::end:
          if (at == text.size()) stack.push_back(pc + 1);
          break;
        default:
          list.push_back(pc);
          break;
      }
    }
  };
  for (std::size_t at = 0;; ++at) {
    add(current, 0, at);  // a match may start anywhere
    for (int pc : current)
      if (program_[pc].what == instruction::op::match) return true;
    if (at == text.size()) return false;
    next.clear();
    auto byte = static_cast<unsigned char>(text[at]);
    for (int pc : current)
      if (program_[pc].what == instruction::op::byte && program_[pc].bytes.test(byte))
        add(next, pc + 1, at + 1);
    std::swap(current, next);
  }
}

}  // namespace rockpool::specs
