"""Close the loop on the "Check:" question that ends every explanation: the learner
answers it, the tutor grades the answer, and a missed check becomes a card draft."""
