#!/bin/bash
cd /tmp/wm
./ab.sh v2/call1 7 1 'Conv(Forward|BackwardData|BackwardFilter)/resnet20_s[123]$' main v2 ctl v2on
./ab.sh v2/call2 5 2 'Conv(Forward|BackwardData|BackwardFilter)/resnet20_s[123]$' main v2 ctl
./abstep.sh v2/step 7 resnet20:128:3:32:32 main v2 ctl v2on
./abgaze.sh v2/gaze 5 main v2 ctl
echo done > v2/DONE
