#include "rockpool/specs/store_writer.hpp"

namespace rockpool::specs {

result<write_outcome> store_writer::apply(const json::value& obj, const std::string& manager,
                                          bool force, bool dry_run) {
  return store_.apply(obj, {dry_run, manager}, force);
}

result<json::value> store_writer::get(const std::string& kind, const std::string& name) {
  return store_.get(kind, name);
}

result<std::vector<json::value>> store_writer::list(const std::string& kind,
                                                    const std::string& selector) {
  auto sel = label_selector::parse(selector);
  if (!sel.ok()) return sel.err();
  auto l = store_.list(kind, *sel);
  if (!l.ok()) return l.err();
  return std::move(l->items);
}

result<write_effect> store_writer::remove(const std::string& kind, const std::string& name,
                                          bool dry_run) {
  auto r = store_.remove(kind, name, std::nullopt, {dry_run, "rockpoold"});
  if (!r.ok()) return r.err();
  return r->effect;
}

}  // namespace rockpool::specs
