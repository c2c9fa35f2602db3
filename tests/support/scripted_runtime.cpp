#include "scripted_runtime.hpp"

#include <stdexcept>

namespace rockpool::test_support {

using specs::make_error;
using specs::reason;

void scripted_incus::fail_next(const std::string& operation, int n, std::string message) {
  std::lock_guard lk(mu_);
  failures_[operation] = {n, std::move(message)};
}

void scripted_incus::throw_next(const std::string& operation) {
  std::lock_guard lk(mu_);
  throws_.insert(operation);
}

void scripted_incus::on_operation(std::function<void(const std::string&)> hook) {
  std::lock_guard lk(mu_);
  hook_ = std::move(hook);
}

std::vector<std::string> scripted_incus::journal() const {
  std::lock_guard lk(mu_);
  return journal_;
}

specs::status scripted_incus::intercept(const std::string& op, const std::string& subject) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lk(mu_);
    journal_.push_back(op + " " + subject);
    hook = hook_;
    if (throws_.erase(op) > 0) throw std::runtime_error("injected crash in " + op);
    if (auto it = failures_.find(op); it != failures_.end() && it->second.first > 0) {
      --it->second.first;
      // Classified as the real client classifies Incus's words.
      return runtime::classify_incus_error(make_error(
          reason::unavailable, it->second.second.empty() ? "injected failure of " + op : it->second.second));
    }
  }
  if (hook) hook(op);
  return specs::done{};
}

void scripted_incus::crash(const std::string& name) {
  edit_instances([&](auto& instances) {
    if (auto it = instances.find(name); it != instances.end()) it->second.status = "Stopped";
  });
}

void scripted_incus::vanish(const std::string& name) {
  edit_instances([&](auto& instances) { instances.erase(name); });
}

void scripted_incus::set_nic_behind(const std::string& name,
                                    std::optional<runtime::nic_device> nic) {
  edit_instances([&](auto& instances) {
    if (auto it = instances.find(name); it != instances.end()) {
      it->second.nic = nic;
      it->second.address = nic && it->second.status == "Running" ? nic->ipv4_address : "";
    }
  });
}

void scripted_incus::add_foreign_instance(const std::string& name) {
  edit_instances([&](auto& instances) {
    instances[name] =
        runtime::instance_info{name, "Running", "container", {}, {}, {}, {}, {"default"}};
  });
}

void scripted_routes::fail_next(int n) {
  std::lock_guard lk(mu_);
  failures_ = n;
}

void scripted_routes::set_journal(std::function<void(const std::string&)> journal) {
  std::lock_guard lk(mu_);
  journal_ = std::move(journal);
}

specs::status scripted_routes::intercept(const std::string& op, const std::string& id) {
  std::function<void(const std::string&)> journal;
  {
    std::lock_guard lk(mu_);
    if (op == "route-upsert" && failures_ > 0) {
      --failures_;
      return make_error(reason::unavailable, "injected route table failure");
    }
    journal = journal_;
  }
  if (journal && (op == "route-upsert" || contains(id))) journal(op + " " + id);
  return specs::done{};
}

}  // namespace rockpool::test_support
