#!/bin/sh
# Runs inside a lab host at lab up, with the host's factory folder in /tmp/factory:
#   bin/*                 the lab's SIP tools (lab/tools), into /usr/local/bin
#   asterisk/*.conf       replace Debian's Asterisk configuration, then Asterisk starts
#   asterisk.conf.sed     edits Debian's asterisk.conf
set -e
if [ -d /tmp/factory/bin ]; then
  install -m 0755 /tmp/factory/bin/* /usr/local/bin/
fi
if [ -d /tmp/factory/asterisk ]; then
  cp /tmp/factory/asterisk/*.conf /etc/asterisk/
  if [ -f /tmp/factory/asterisk.conf.sed ]; then
    sed -i -f /tmp/factory/asterisk.conf.sed /etc/asterisk/asterisk.conf
  fi
  chown -R asterisk:asterisk /etc/asterisk
  chmod 640 /etc/asterisk/*.conf
  systemctl enable --now asterisk.service >/dev/null 2>&1
fi
rm -rf /tmp/factory
