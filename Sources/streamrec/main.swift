print("streamrec")
