internal import CNFTNL
