"""Reduce-side join of customers and orders (tab-separated) on the customer id.

Each mapper tags its records with the dataset they came from (the input file's name, from
``mapreduce_map_input_file`` as Hadoop streaming sets it); the reducer sees one customer and
all of their orders, and emits one joined row per order (inner join).

    python jobs/join.py -r local jobs/data/join -o /tmp/join
"""
import os

from rayemr.mapreduce import MRJob, MRStep


class MRJoin(MRJob):
    SORT_VALUES = True  # "C" (customer) records sort before "O" (order) records

    def steps(self):
        return [MRStep(mapper=self.mapper, reducer=self.reducer)]

    def mapper(self, _, line):
        fields = line.split("\t")
        source = os.path.basename(os.environ.get("mapreduce_map_input_file", ""))
        if source.startswith("customers"):
            cust_id, name, city = fields
            yield cust_id, ["C", name, city]
        elif source.startswith("orders"):
            order_id, cust_id, amount = fields
            yield cust_id, ["O", order_id, float(amount)]

    def reducer(self, cust_id, records):
        customer = None
        for rec in records:
            if rec[0] == "C":
                customer = rec
            elif customer is not None:
                self.increment_counter("join", "joined orders")
                yield rec[1], [cust_id, customer[1], customer[2], rec[2]]
            else:
                self.increment_counter("join", "orders without customer")


if __name__ == "__main__":
    MRJoin.run()
