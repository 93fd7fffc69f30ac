"""geoapp: the major-project map of Tongliao (通辽市重大项目地图)."""

__version__ = "0.1.0"
