// rpctl: thin entry point; the commands live in rockpool_rpctl.
#include "rockpool/controller/rpctl.hpp"

#include <iostream>

int main(int argc, char** argv) {
  return rockpool::controller::run_rpctl(argc, argv, std::cout, std::cerr);
}
