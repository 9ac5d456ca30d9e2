kernel= "/boot/vmlinuz-2.6.18.8-xen"
memory = 128
name = "domain1"
disk = ['file:/home/xen/dom_fc5/fedora.fc5.img,sda1,w', 'file:/home/xen/dom_fc5/fedora.fc5.swap,sda2,w']
access_control = ['policy=mytest,label=A-Bank']
