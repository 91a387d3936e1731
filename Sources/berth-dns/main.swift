print("berth-dns")
