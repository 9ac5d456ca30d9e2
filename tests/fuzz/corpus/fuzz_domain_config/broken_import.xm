kernel= "/boot/vmlinuz-2.6.18.8-xen"
memory = 128
name = "domain1"
import os
