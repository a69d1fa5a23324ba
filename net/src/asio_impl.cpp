// Boost.Asio and Asio SSL compiled once, here, for every target that uses them
// (BOOST_ASIO_SEPARATE_COMPILATION): the 2-core build compiles the heavy headers' bodies once.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
