"""The quadrotor simulation core, without Gymnasium: the drone model and its flight controller, PyBullet
physics, range sensors, observation, reward, outcomes, the path field and domain randomisation."""
