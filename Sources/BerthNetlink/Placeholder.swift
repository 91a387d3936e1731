internal import CMNL
