# Guest-to-guest networking across netback's bridge (ICMP round trips,
# frame throughput) against a veth pair between two network namespaces on
# the same host, measured in the same run (header of net_bench.cpp for the
# command).
if(TARGET xend AND TARGET xm AND TARGET shype-hv AND TARGET guest_net AND TARGET guest_vio)
  shype_xm_bench(net_bench net_bench.cpp GUESTS guest_net guest_vio)
endif()
