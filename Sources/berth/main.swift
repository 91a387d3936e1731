import Berth
print("berth")
